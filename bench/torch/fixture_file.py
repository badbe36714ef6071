"""Writing a JSON fixture, or checking that the committed one is what the generator makes now."""

from __future__ import annotations

import json
import os
import sys
from typing import Optional

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))


def write_or_check(doc: object, path: str, check: bool, max_bytes: Optional[int] = None) -> int:
    """Compact JSON of `doc` to `path` (or, with `check`, compare with it); exit status 0 or 1."""
    text = json.dumps(doc, separators=(',', ':')) + '\n'
    if max_bytes is not None and len(text) > max_bytes:
        print(f'{path}: {len(text)} bytes exceeds the {max_bytes} byte budget', file=sys.stderr)
        return 1
    if check:
        same = os.path.exists(path) and open(path).read() == text
        print(f'{"same" if same else "DIFFERS"} {path}')
        return 0 if same else 1
    with open(path, 'w') as f:
        f.write(text)
    print(f'wrote {os.path.relpath(path, ROOT)} ({len(text) / 1024:.0f} KB)')
    return 0
