"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in tests/e2e/contract.test.mjs.

schemathesis 4.32.5 scans successful JSON answers for same-origin URLs, to
infer links between operations. The scan lets urllib's ValueError escape on a
string that starts like a URL but does not parse (a generated label such as
"http://[" that the API echoes back), and the whole run ends in an internal
error. Such a string is not a link: the scan skips it, and every check still
runs on every answer.
"""

from schemathesis.engine import observations

_same_origin_path = observations._same_origin_path


def _skip_unparsable(value, origin):
    try:
        return _same_origin_path(value, origin)
    except ValueError:
        return None


observations._same_origin_path = _skip_unparsable
