package suite

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The charts are plain SVG written by hand: no dependency, readable in a
// browser and on GitHub.

const (
	colOurs = "#1f77b4"
	colBase = "#d62728"
	font    = `font-family="Helvetica,Arial,sans-serif"`
)

type svg struct{ b strings.Builder }

func newSVG(w, h int) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="12">`+"\n", w, h, w, h, font)
	fmt.Fprintf(&s.b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	return s
}

func (s *svg) text(x, y float64, anchor, fill string, size int, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, fill, size, html.EscapeString(t))
}

func (s *svg) line(x1, y1, x2, y2 float64, stroke string, width float64, dash string) {
	d := ""
	if dash != "" {
		d = ` stroke-dasharray="` + dash + `"`
	}
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n", x1, y1, x2, y2, stroke, width, d)
}

func (s *svg) rect(x, y, w, h float64, fill, title string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n", x, y, math.Max(w, 0.5), h, fill, html.EscapeString(title))
}

func (s *svg) polyline(pts [][2]float64, stroke, dash string) {
	if len(pts) == 0 {
		return
	}
	var b strings.Builder
	for _, p := range pts {
		fmt.Fprintf(&b, "%.1f,%.1f ", p[0], p[1])
	}
	d := ""
	if dash != "" {
		d = ` stroke-dasharray="` + dash + `"`
	}
	fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.TrimSpace(b.String()), stroke, d)
	for _, p := range pts {
		fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", p[0], p[1], stroke)
	}
}

func (s *svg) legend(x, y float64, items [][2]string) {
	for i, it := range items {
		yy := y + float64(i)*16
		dash := ""
		if strings.HasSuffix(it[0], "p50") {
			dash = "4,3"
		}
		s.line(x, yy-4, x+22, yy-4, it[1], 3, dash)
		s.text(x+28, yy, "start", "#222", 12, it[0])
	}
}

func (s *svg) String() string { return s.b.String() + "</svg>\n" }

// logScale maps v in [lo, hi] (decades) onto [0, w].
func logScale(v, lo, hi, w float64) float64 {
	if v <= lo {
		return 0
	}
	return (math.Log10(v) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo)) * w
}

func decadeBounds(lo, hi float64) (float64, float64) {
	if lo <= 0 {
		lo = 1
	}
	if hi <= lo {
		hi = lo * 10
	}
	return math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
}

func (rep *Report) title() string {
	m := rep.Machine
	return fmt.Sprintf("%s, %d cores, %s, %s", m.CPU, m.Cores, m.GoVersion, m.Date.Format("2006-01-02"))
}

// ThroughputSVG: records/s delivered per scenario, xdrhook vs the baseline,
// horizontal bars on a log scale (sizes differ by 100×).
func (rep *Report) ThroughputSVG() string {
	cs := rep.Comparisons
	const left, right, top, rowH = 330.0, 90.0, 64.0, 30.0
	w := 1000.0
	h := top + float64(max(len(cs), 1))*rowH + 40
	s := newSVG(int(w), int(h))
	s.text(w/2, 22, "middle", "#111", 15, "Records/s delivered per scenario: xdrhook vs the naive baseline (log scale)")
	s.text(w/2, 40, "middle", "#555", 11, rep.title()+"; the baseline sends one record per request in every row")
	s.legend(left, 58, [][2]string{{"xdrhook", colOurs}})
	s.legend(left+120, 58, [][2]string{{"baseline", colBase}})
	if len(cs) == 0 {
		s.text(w/2, h/2, "middle", "#555", 13, "no scenario ran")
		return s.String()
	}
	lo, hi := math.Inf(1), 0.0
	for _, c := range cs {
		for _, v := range []float64{c.Ours, c.Baseline} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	lo, hi = decadeBounds(lo, hi)
	pw := w - left - right
	y0 := top + 6
	for d := lo; d <= hi*1.0001; d *= 10 {
		x := left + logScale(d, lo, hi, pw)
		s.line(x, y0, x, y0+float64(len(cs))*rowH, "#ddd", 1, "")
		s.text(x, y0+float64(len(cs))*rowH+14, "middle", "#555", 11, human(d))
	}
	for i, c := range cs {
		y := y0 + float64(i)*rowH
		s.text(left-8, y+rowH/2+4, "end", "#222", 11, c.Name)
		bw := logScale(c.Ours, lo, hi, pw)
		s.rect(left, y+3, bw, 11, colOurs, fmt.Sprintf("xdrhook %s: %.0f records/s", c.Name, c.Ours))
		label := human(c.Ours)
		if c.Ratio > 0 {
			label += fmt.Sprintf("  (%.1f×)", c.Ratio)
		}
		s.text(left+bw+4, y+12, "start", "#222", 10, label)
		if c.Baseline > 0 {
			bb := logScale(c.Baseline, lo, hi, pw)
			s.rect(left, y+15, bb, 11, colBase, fmt.Sprintf("baseline %s: %.0f records/s", c.Name, c.Baseline))
			s.text(left+bb+4, y+24, "start", "#555", 10, human(c.Baseline))
		}
	}
	return s.String()
}

type series struct {
	name  string
	color string
	dash  string
	pts   [][2]float64 // data coordinates
}

// lineChart draws series on a linear x axis and a linear or log y axis.
func lineChart(title, sub, xlabel, ylabel string, logY, logX bool, ss []series) string {
	const w, h, left, right, top, bottom = 960.0, 520.0, 80.0, 250.0, 60.0, 60.0
	s := newSVG(int(w), int(h))
	s.text(w/2, 22, "middle", "#111", 15, title)
	s.text(w/2, 40, "middle", "#555", 11, sub)
	pw, ph := w-left-right, h-top-bottom
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for _, se := range ss {
		for _, p := range se.pts {
			if logY && p[1] <= 0 || logX && p[0] <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, p[0]), math.Max(xmax, p[0])
			ymin, ymax = math.Min(ymin, p[1]), math.Max(ymax, p[1])
			n++
		}
	}
	if n == 0 {
		s.text(w/2, h/2, "middle", "#555", 13, "no data")
		return s.String()
	}
	var fx, fy func(float64) float64
	var xticks, yticks []float64
	if logX {
		lo, hi := math.Pow(2, math.Floor(math.Log2(xmin))), math.Pow(2, math.Ceil(math.Log2(math.Max(xmax, xmin*2))))
		fx = func(v float64) float64 { return left + (math.Log2(v)-math.Log2(lo))/(math.Log2(hi)-math.Log2(lo))*pw }
		for t := lo; t <= hi*1.0001; t *= 2 {
			xticks = append(xticks, t)
		}
	} else {
		hi := niceCeil(xmax)
		fx = func(v float64) float64 { return left + v/hi*pw }
		for i := 0; i <= 5; i++ {
			xticks = append(xticks, hi*float64(i)/5)
		}
	}
	if logY {
		lo, hi := decadeBounds(ymin, ymax)
		fy = func(v float64) float64 { return top + ph - logScale(v, lo, hi, ph) }
		for d := lo; d <= hi*1.0001; d *= 10 {
			yticks = append(yticks, d)
			for _, k := range []float64{2, 5} {
				if d*k < hi {
					yticks = append(yticks, d*k)
				}
			}
		}
	} else {
		hi := niceCeil(ymax)
		fy = func(v float64) float64 { return top + ph - v/hi*ph }
		for i := 0; i <= 5; i++ {
			yticks = append(yticks, hi*float64(i)/5)
		}
	}
	for _, t := range xticks {
		x := fx(t)
		s.line(x, top, x, top+ph, "#e5e5e5", 1, "")
		s.text(x, top+ph+16, "middle", "#555", 11, human(t))
	}
	for _, t := range yticks {
		y := fy(t)
		s.line(left, y, left+pw, y, "#e5e5e5", 1, "")
		s.text(left-6, y+4, "end", "#555", 11, tick(t))
	}
	s.line(left, top+ph, left+pw, top+ph, "#444", 1, "")
	s.line(left, top, left, top+ph, "#444", 1, "")
	s.text(left+pw/2, h-18, "middle", "#222", 12, xlabel)
	fmt.Fprintf(&s.b, `<text x="18" y="%.1f" text-anchor="middle" fill="#222" font-size="12" transform="rotate(-90 18 %.1f)">%s</text>`+"\n", top+ph/2, top+ph/2, html.EscapeString(ylabel))
	var leg [][2]string
	for _, se := range ss {
		var pts [][2]float64
		for _, p := range se.pts {
			if logY && p[1] <= 0 || logX && p[0] <= 0 {
				continue
			}
			pts = append(pts, [2]float64{fx(p[0]), fy(p[1])})
		}
		s.polyline(pts, se.color, se.dash)
		leg = append(leg, [2]string{se.name, se.color})
	}
	s.legend(left+pw+12, top+10, leg)
	return s.String()
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string {
	switch {
	case v >= 1000:
		return human(v)
	case v >= 1:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	}
	return fmt.Sprintf("%g", v)
}

// LatencySVG: reply latency (p50, p99) against the offered load, as a
// percentage of each connector's measured peak (the absolute rates are in
// the legend and the report's table).
func (rep *Report) LatencySVG() string {
	var ss []series
	for _, c := range []struct{ conn, color string }{{Ours, colOurs}, {Baseline, colBase}} {
		var p50, p99 [][2]float64
		peak := 0.0
		for _, p := range rep.LatencySweep {
			if p.Connector != c.conn || !p.Result.OK {
				continue
			}
			if p.PercentOfPeak > 0 {
				peak = p.Offered * 100 / float64(p.PercentOfPeak)
			}
			p50 = append(p50, [2]float64{float64(p.PercentOfPeak), p.Result.Latency.P50})
			p99 = append(p99, [2]float64{float64(p.PercentOfPeak), p.Result.Latency.P99})
		}
		if len(p99) > 0 {
			ss = append(ss, series{name: fmt.Sprintf("%s p99 (peak %s/s)", c.conn, human(peak)), color: c.color, pts: p99},
				series{name: c.conn + " p50", color: c.color, dash: "4,3", pts: p50})
		}
	}
	return lineChart("Reply latency vs offered load: "+Headline.Name(),
		rep.title()+"; batch interval 50 ms",
		"offered load (% of the connector's measured peak)", "reply latency (ms, log scale)", true, false, ss)
}

// ScalingSVG: records/s against the number of XDR connections.
func (rep *Report) ScalingSVG() string {
	var ss []series
	for _, c := range []struct{ conn, color string }{{Ours, colOurs}, {Baseline, colBase}} {
		var pts [][2]float64
		for _, r := range rep.Scaling {
			if r.Connector == c.conn && r.OK {
				pts = append(pts, [2]float64{float64(r.Conns), r.RecordsPerSec})
			}
		}
		if len(pts) > 0 {
			ss = append(ss, series{name: c.conn, color: c.color, pts: pts})
		}
	}
	return lineChart("Records/s vs XDR connections: "+Headline.Name(),
		rep.title()+"; the same records in flight in all, spread over the connections",
		"XDR connections (log scale)", "records/s delivered (log scale)", true, true, ss)
}
