"""gnuplot PNGs for the benchmark report: one line per system and series."""

import os
import subprocess

# One colour per system (in bench.SYSTEM_ORDER), one dash type per series.
COLORS = ["#7a0177", "#1b9e77", "#56b4e9", "#e69f00", "#d7301f"]
_CAIRO = None


def gp_has_cairo():
    global _CAIRO
    if _CAIRO is None:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        _CAIRO = "pngcairo" in (r.stdout + r.stderr)
    return _CAIRO


def line_plot(out_dir, plot_dir, name, series, title, ylabel, hline=None):
    """Writes plot_dir/NAME.png; series is a list of (title, color index,
    dash type, [(t, value)]).  Empty series are left out; None when none
    is left."""
    series = [s for s in series if s[3]]
    if not series:
        return None
    os.makedirs(plot_dir, exist_ok=True)
    dat = os.path.join(out_dir, "plot-%s.dat" % name)
    with open(dat, "w") as f:
        for label, _, _, pts in series:
            f.write("# %s\n" % label)
            for t, v in pts:
                f.write("%.1f %.1f\n" % (t, v))
            f.write("\n\n")
    png = os.path.join(plot_dir, "%s.png" % name)
    plots = ["'%s' index %d using 1:2 with lines lw 2 dt %d lc rgb '%s' title '%s'"
             % (dat, i, dash, COLORS[color % len(COLORS)], label.replace("'", ""))
             for i, (label, color, dash, _) in enumerate(series)]
    if hline:
        plots.append("%f with lines dt 2 lc rgb 'black' title '%s'" % (hline[1], hline[0]))
    script = "\n".join([
        "set terminal pngcairo noenhanced size 900,520 font ',10'" if gp_has_cairo() else
        "set terminal png noenhanced size 900,520",
        "set output '%s'" % png, "set title '%s'" % title,
        "set xlabel 'seconds since the workload started'", "set ylabel '%s'" % ylabel,
        "set key below", "set grid", "set xrange [-5:*]", "set yrange [0:*]",
        "plot " + ", ".join(plots), ""])
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    return png


def bar_plot(out_dir, plot_dir, name, groups, bars, title, ylabel, ymax=None):
    """Writes plot_dir/NAME.png: for each group (a label on the x axis), one
    bar per entry of bars, a list of (title, color index, [value or None per
    group]); a None is left out.  None when no value is left."""
    if not any(v is not None for _, _, vals in bars for v in vals):
        return None
    os.makedirs(plot_dir, exist_ok=True)
    dat = os.path.join(out_dir, "plot-%s.dat" % name)
    with open(dat, "w") as f:
        for g, label in enumerate(groups):
            vals = ["%.3f" % vals[g] if vals[g] is not None else "NaN" for _, _, vals in bars]
            f.write('%d "%s" %s\n' % (g, label.replace('"', ""), " ".join(vals)))
    png = os.path.join(plot_dir, "%s.png" % name)
    width = 0.8 / len(bars)
    plots = ["'%s' using ($1%+.3f):%d:(%.3f) with boxes fs solid 0.8 lc rgb '%s' title '%s'"
             % (dat, (i - (len(bars) - 1) / 2) * width, 3 + i, width,
                COLORS[color % len(COLORS)], label.replace("'", ""))
             for i, (label, color, _) in enumerate(bars)]
    plots[0] += ", '' using 1:(0):xticlabels(2) with points pt -1 notitle"
    script = "\n".join([
        "set terminal pngcairo noenhanced size 900,520 font ',10'" if gp_has_cairo() else
        "set terminal png noenhanced size 900,520",
        "set output '%s'" % png, "set title '%s'" % title, "set ylabel '%s'" % ylabel,
        "set key below", "set grid ytics", "set xrange [-0.6:%f]" % (len(groups) - 0.4),
        "set yrange [0:%s]" % (ymax if ymax else "*"), "set xtics rotate by -25",
        "set rmargin 12", "set boxwidth %f absolute" % width,
        "plot " + ", ".join(plots), ""])
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    return png
