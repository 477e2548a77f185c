"""`make load`: many buyers and sellers at once against the service under uvicorn, every invariant
checked afterwards."""
