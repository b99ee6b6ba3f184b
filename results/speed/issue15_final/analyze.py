import json, sys, statistics, glob, gzip, re
D = sys.argv[1]
def lines(p):
    op = gzip.open if p.endswith('.gz') else open
    with op(p, 'rt') as f:
        for l in f:
            l = l.strip()
            if l.startswith('{'):
                yield json.loads(l)
def val(x):
    if isinstance(x, str): return float(x)
    return float(x)
# 22 cells per-cell timing
def cells(tag):
    per = {}
    for p in sorted(glob.glob(f'{D}/cells_{tag}_*.jsonl')):
        for r in lines(p):
            per.setdefault(r['arch'], []).append(r['seconds']['wrcor'])
    return {a: statistics.median(v) for a, v in per.items()}
o, n = cells('old'), cells('new')
if o and n:
    common = [a for a in o if a in n]
    ratios = [o[a] / n[a] for a in common]
    print(f'22 cells: {len(common)} cells, median s/cell old {statistics.median(o[a] for a in common):.4f} new {statistics.median(n[a] for a in common):.4f}; per-cell speed-up median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})')
    allconv = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    if allconv in o: print(f'  all nor_conv_3x3: old {o[allconv]:.4f} s new {n[allconv]:.4f} s speed-up {o[allconv]/n[allconv]:.3f}')
    # values identical?
    vo = {}; vn = {}
    for p in glob.glob(f'{D}/cells_old_*.jsonl'):
        for r in lines(p): vo[r['arch']] = val(r['scores']['wrcor'])
    for p in glob.glob(f'{D}/cells_new_*.jsonl'):
        for r in lines(p): vn[r['arch']] = val(r['scores']['wrcor'])
    d = [abs(vo[a]-vn[a]) for a in common if vo[a]==vo[a] and vn[a]==vn[a] and abs(vo[a])!=float('inf')]
    print(f'  wrcor old vs new on the 22 cells: max |diff| {max(d):.3e}')
# spearman 1000
def rank(v):
    idx = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0]*len(v); i = 0
    while i < len(v):
        j = i
        while j+1 < len(v) and v[idx[j+1]] == v[idx[i]]: j += 1
        for k in range(i, j+1): r[idx[k]] = (i+j)/2 + 1
        i = j+1
    return r
def spearman(a, b):
    ra, rb = rank(a), rank(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    num = sum((x-ma)*(y-mb) for x, y in zip(ra, rb))
    den = (sum((x-ma)**2 for x in ra) * sum((y-mb)**2 for y in rb)) ** 0.5
    return num/den
for old, new, label in [(f'{D}/s1000_old.jsonl', f'{D}/s1000_new.jsonl', '1,000 cells (score --sample 1000 --seed 0)'), (f'{D}/shipped_1000.jsonl', f'{D}/s1000_new.jsonl', 'shipped results/nb201_eval/scores_1000.jsonl vs new')]:
    try:
        so = {r['arch']: val(r['scores']['wrcor']) for r in lines(old)}
        sn = {r['arch']: val(r['scores']['wrcor']) for r in lines(new)}
    except FileNotFoundError:
        continue
    common = sorted(set(so) & set(sn))
    fin = lambda x: x == x and abs(x) != float('inf')
    nf_o = {a for a in common if not fin(so[a])}; nf_n = {a for a in common if not fin(sn[a])}
    # non-finite ranked last (lowest)
    key = lambda x: x if fin(x) else -1e308
    rho = spearman([key(so[a]) for a in common], [key(sn[a]) for a in common])
    d = sorted(abs(so[a]-sn[a]) for a in common if fin(so[a]) and fin(sn[a]))
    print(f'{label}: {len(common)} cells, non-finite old {len(nf_o)} new {len(nf_n)} (same cells: {nf_o==nf_n}), Spearman {rho:.7f}, |d wrcor| median {d[len(d)//2]:.2e} max {d[-1]:.2e}')
