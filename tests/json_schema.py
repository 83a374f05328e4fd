#!/usr/bin/env python3
"""json_schema.py DOC SCHEMA FILE: checks the JSON document FILE against the table
of SCHEMA in DOC (doc/json.md): "dlmem_version" and "schema" as required, every
member marked "always" present with its type, every other documented member
(when present) of its type.  Prints one line per problem; exit 1 if any."""
import json
import re
import sys

PY = {'object': dict, 'array': list, 'string': str, 'boolean': bool, 'null': type(None)}


def load_tables(doc):
    tables, cur = {}, None
    for line in open(doc, encoding='utf-8'):
        m = re.match(r'^## (\S+)\s*$', line)
        if m:
            cur = tables.setdefault(m.group(1), [])
            continue
        m = re.match(r'^\| `([^`]+)` \| ([^|]+(?:\\\|[^|]+)*) \| ([^|]+) \|', line)
        if m and cur is not None:
            types = [t.strip() for t in m.group(2).split('\\|')]
            cur.append((m.group(1), types, m.group(3).strip()))
    return tables


def type_ok(v, types):
    for t in types:
        if t == 'integer' and isinstance(v, int) and not isinstance(v, bool):
            return True
        if t == 'number' and isinstance(v, (int, float)) and not isinstance(v, bool):
            return True
        if t in PY and isinstance(v, PY[t]):
            return True
    return False


def values(doc, path):
    """(found, value) for every place `path` names; missing parents yield nothing."""
    parts = re.findall(r'[^.\[\]]+|\[\]', path)
    out = [(doc, True)]
    for p in parts:
        nxt = []
        for v, _ in out:
            if p == '[]':
                if isinstance(v, list):
                    nxt += [(x, True) for x in v]
            elif isinstance(v, dict):
                nxt.append((v.get(p), p in v))
        out = [(v, f) for v, f in nxt]
        # a missing member stops that branch after being reported once
        if p != parts[-1] or p == '[]':
            out = [(v, f) for v, f in out if f]
    return out


def main():
    doc, schema, path = sys.argv[1:4]
    tables = load_tables(doc)
    if schema not in tables:
        print('%s: no table for schema %s' % (doc, schema))
        return 1
    with open(path, encoding='utf-8') as f:
        d = json.load(f)
    bad = []
    if not isinstance(d, dict):
        bad.append('the document is not an object')
    else:
        if d.get('schema') != schema:
            bad.append('schema is %r, expected %r' % (d.get('schema'), schema))
        if not isinstance(d.get('dlmem_version'), str) or not d.get('dlmem_version'):
            bad.append('dlmem_version missing or empty')
    for field, types, when in tables[schema]:
        for v, found in values(d, field):
            if not found:
                if when.startswith('always'):
                    bad.append('%s: missing (documented as always present)' % field)
                continue
            if not type_ok(v, types):
                bad.append('%s: %s is not %s' % (field, json.dumps(v)[:60], ' or '.join(types)))
    for b in bad[:20]:
        print('%s (%s): %s' % (path, schema, b))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
