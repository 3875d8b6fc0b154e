#!/usr/bin/env python3
"""The configuration man page says what the program reads.

    man_keys.py PROGRAM MANPAGE SECTION...

PROGRAM --print-defaults lists every key of the named [SECTION]s with its
default; MANPAGE must describe each one as `.It Ic KEY No = Ar DEFAULT` under
`.Ss [SECTION]`, and describe no key the program does not read.  Fails with
one line per difference.
"""
import re
import subprocess
import sys


def program_keys(program, sections):
    out = subprocess.run([program, '--print-defaults'], check=True,
                         capture_output=True, text=True).stdout
    keys, section = {}, None
    for line in out.splitlines():
        m = re.fullmatch(r'\[([a-z_]+)\]', line)
        if m:
            section = m.group(1)
            continue
        m = re.fullmatch(r'#([a-z_0-9]+) = (.*)', line)
        if m and section in sections:
            keys[(section, m.group(1))] = m.group(2)
    return keys


def page_keys(manpage, sections):
    keys, section, depth = {}, None, 0
    with open(manpage, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            m = re.fullmatch(r'\.S[sh] \[?([a-z_]+)\]?.*', line)
            if line.startswith(('.Ss', '.Sh')):
                section = m.group(1) if m and line.startswith('.Ss [') else None
                depth = 0
                continue
            if line.startswith('.Bl'):
                depth += 1
            elif line.startswith('.El'):
                depth -= 1
            m = re.fullmatch(r'\.It Ic ([a-z_0-9]+) No = Ar (\S+)', line)
            # Only the section's own list: nested lists describe sub-keys.
            if m and section in sections and depth == 1:
                keys[(section, m.group(1))] = m.group(2)
    return keys


def main():
    program, manpage, sections = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    want = program_keys(program, sections)
    have = page_keys(manpage, sections)
    errors = []
    for (section, key), default in sorted(want.items()):
        if (section, key) not in have:
            errors.append(f'[{section}] {key} = {default}: not in {manpage}')
        elif have[(section, key)] != default:
            errors.append(f'[{section}] {key}: {manpage} says '
                          f'{have[(section, key)]}, the default is {default}')
    for section, key in sorted(have.keys() - want.keys()):
        errors.append(f'[{section}] {key}: in {manpage} but not read by {program}')
    for e in errors:
        print(e)
    if not want:
        print(f'{program} --print-defaults listed no key of {sorted(sections)}')
        return 1
    print(f'{len(want)} keys checked, {len(errors)} differences')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
