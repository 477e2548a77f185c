"""An import-linter contract: each package inside a container is reached through its public
module (`__init__`) alone.

`[[tool.importlinter.contracts]] type = "public_modules"`, `containers = ["app.services"]`:
nothing outside `app.services.wallet` may import `app.services.wallet.topups`, only
`app.services.wallet`; a new package in the container is covered without another contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True, slots=True)
class InternalImport:
    importer: str
    imported: str
    public_module: str
    line_numbers: tuple[int, ...]


def internal_imports(graph: ImportGraph, container: str) -> list[InternalImport]:
    """Every import, from outside a package of `container`, of a module inside that package."""
    found = []
    for package in sorted(graph.find_children(container)):
        for internal in sorted(graph.find_descendants(package)):
            for importer in sorted(graph.find_modules_that_directly_import(internal)):
                if importer == package or importer.startswith(f"{package}."):
                    continue
                details = graph.get_import_details(importer=importer, imported=internal)
                lines = tuple(detail["line_number"] for detail in details)
                found.append(InternalImport(importer, internal, package, lines))
    return found


class PublicModulesContract(Contract):
    type_name = "public_modules"

    containers = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        found = [
            violation
            for container in self.containers  # type: ignore[attr-defined]
            for violation in internal_imports(graph, container.name)
        ]
        return ContractCheck(kept=not found, metadata={"internal_imports": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["internal_imports"]:
            lines = ", ".join(f"l.{number}" for number in violation.line_numbers)
            output.print_error(
                f"{violation.importer} imports {violation.imported} ({lines}); "
                f"import it from {violation.public_module}",
                bold=False,
            )
            output.new_line()
