"""``framer conform``: check any WebSocket server against RFC 6455 and API Gateway's rules.

Three modes: fixed rules (API Gateway's quotas, UTF-8, ping, close), ``--fuzz``
(framer.testing's strategies sent over the network, failures shrunk by
hypothesis) and ``--replay`` (one example, as a failure report prints it).
Every verdict rests on the server's own frames, read raw.

Modules:

* ``_target``: the URL, :class:`ConformError`, and which hosts may be fuzzed;
* ``_client``: one probing connection, hand-written handshake, raw frame reader;
* ``_rules``: the fixed rules and :func:`run`;
* ``_example``: one fuzzing example, its expectation, and its replay form;
* ``_verdict``: sends one example and judges what the server did;
* ``_fuzz``: the properties, run by hypothesis (needs ``framer[testing]``);
* ``_report``: the table, ``--json`` and ``--junit``;
* ``_main``: :class:`Options` and :func:`main`, what ``framer conform`` calls.
"""

from __future__ import annotations

from ._main import Options, main
from ._report import format_table, to_json
from ._rules import RuleResult, run
from ._target import ConformError, Target, parse_url

__all__ = ["ConformError", "Options", "RuleResult", "Target", "format_table", "main", "parse_url", "run", "to_json"]
