"""The ``sql`` tool and its pipeline: repairs (repairs.py) -> guard (guard.py, bounds.py) ->
DuckDB (run.py) -> after-error repairs, or an error with a hint (hints.py); provenance.py maps
results back to cells. Importers use ``from tools.sql import SqlTool``."""

from tools.sql.bounds import Bounds, bound_sizes
from tools.sql.guard import Catalog, GuardedQuery, guard
from tools.sql.repairs import AFTER_ERROR, REPAIRS, Repair, RepairContext, apply, quote_bare_columns
from tools.sql.tool import SqlArgs, SqlTool

__all__ = ["AFTER_ERROR", "REPAIRS", "Bounds", "Catalog", "GuardedQuery", "Repair",
           "RepairContext", "SqlArgs", "SqlTool", "apply", "bound_sizes", "guard",
           "quote_bare_columns"]
