"""Alert rules: conditions over check samples, evaluated purely (samples + clock → values).

- `model`: the `rules:` entries of opsbook.yaml, compiled to an expression tree at load.
- `expr` / `nodes`: the text form's grammar and the tree both forms share.
- `evaluate` / `aggregate` / `series`: windows, aggregations, `MemorySeries`.
- `alerting`: a rule's value → its warning and critical alerts through the lifecycle.
- `testing`: `opsbook test rules`, promtool-style rule unit tests.
"""

from opsbook.rules.alerting import advance
from opsbook.rules.evaluate import RuleValue, SeriesSource, evaluate
from opsbook.rules.expr import ExprError, parse_expr
from opsbook.rules.model import Rule
from opsbook.rules.nodes import format_expr
from opsbook.rules.series import MemorySeries

__all__ = [
    "ExprError",
    "MemorySeries",
    "Rule",
    "RuleValue",
    "SeriesSource",
    "advance",
    "evaluate",
    "format_expr",
    "parse_expr",
]
