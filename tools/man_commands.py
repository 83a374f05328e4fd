#!/usr/bin/env python3
"""man_commands.py DLMEM: prints the COMMANDS section of doc/dlmem.1 (roff) from
`DLMEM CMD --help` for every command; paste it between ".SH COMMANDS" and
".SH THE TRAINING STEP" after changing options."""
import re, subprocess, sys
dl = sys.argv[1]
cmds = [re.match(r'^  (\w+) ', l).group(1) for l in
        subprocess.run([dl, '--help'], capture_output=True, text=True).stdout.split('commands:')[1]
        .split('\n\n')[0].splitlines() if re.match(r'^  (\w+) ', l)]
summ = {}
for line in subprocess.run([dl,'--help'],capture_output=True,text=True).stdout.splitlines():
    m = re.match(r'^  (\w+)\s+(.*)$', line)
    if m and m.group(1) in cmds: summ[m.group(1)] = m.group(2)
def esc(t): return t.replace('\\','\\\\').replace('-', '\\-').replace("'", "\\(aq")
out=[]
for c in cmds:
    h = subprocess.run([dl,c,'--help'],capture_output=True,text=True).stdout
    lines = h.splitlines()
    syn = lines[0].replace('usage: ','')
    out.append('.SS "%s"' % esc(syn))
    # description: up to "options:"
    i = 2; desc=[]
    while i < len(lines) and lines[i] != 'options:':
        desc.append(lines[i]); i += 1
    text = ' '.join(x.strip() for x in desc if x.strip())
    out.append(esc(text))
    i += 1
    opts=[]
    while i < len(lines) and lines[i].startswith('  '):
        l = lines[i]
        m = re.match(r'^  (-\w, )?(    )?(--[\w-]+)( \S+)?\s*(.*)$', l)
        if m:
            opts.append([ (m.group(1) or '').strip(), m.group(3), (m.group(4) or '').strip(), m.group(5).strip()])
        elif opts:
            opts[-1][3] += ' ' + l.strip()
        i += 1
    for sh, lo, arg, hl in opts:
        if lo in ('--help','--wide'): continue
        head = ''
        if sh: head += '\\fB%s\\fR, ' % esc(sh.rstrip(','))
        head += '\\fB%s\\fR' % esc(lo)
        if arg: head += ' \\fI%s\\fR' % esc(arg)
        out.append('.TP\n' + head + '\n' + esc(hl.strip()))
    rest = [x for x in lines[i:] if x.strip()]
    if rest:
        out.append('.PP\n' + esc(' '.join(x.strip() for x in rest)))
print('\n'.join(out))
