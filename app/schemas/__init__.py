"""The API's request and response models, one module per domain, named like its router."""
