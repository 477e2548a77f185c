"""The custom import contract finds imports of another package's internals, and only those."""

from grimp import ImportGraph

from tests.architecture.public_modules import InternalImport, PublicModulesContract, internal_imports


def graph_of(*imports: tuple[str, str]) -> ImportGraph:
    graph = ImportGraph()
    for module in (
        "app",
        "app.container",
        "app.services",
        "app.services.ledger",
        "app.services.ledger.service",
        "app.services.wallet",
        "app.services.wallet.topups",
        "app.services.wallet.view",
    ):
        graph.add_module(module)
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=7, line_contents="import")
    return graph


def contract() -> PublicModulesContract:
    return PublicModulesContract("public modules", {}, {"containers": ["app.services"]})


def test_public_modules_and_a_packages_own_internals_are_allowed() -> None:
    graph = graph_of(
        ("app.services.wallet.topups", "app.services.ledger"),
        ("app.services.wallet.view", "app.services.wallet.topups"),
        ("app.services.wallet", "app.services.wallet.topups"),
        ("app.container", "app.services.wallet"),
    )

    assert internal_imports(graph, "app.services") == []
    assert contract().check(graph, verbose=False).kept


def test_another_packages_internals_break_the_contract_wherever_the_importer_is() -> None:
    graph = graph_of(
        ("app.services.wallet.topups", "app.services.ledger.service"),
        ("app.container", "app.services.wallet.view"),
    )

    check = contract().check(graph, verbose=False)

    assert not check.kept
    assert check.metadata["internal_imports"] == [
        InternalImport(
            "app.services.wallet.topups", "app.services.ledger.service", "app.services.ledger", (7,)
        ),
        InternalImport("app.container", "app.services.wallet.view", "app.services.wallet", (7,)),
    ]
