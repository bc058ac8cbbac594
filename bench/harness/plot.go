package harness

import (
	"fmt"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plots writes latency.png (call rate vs p99 set-up time) and cpu.png (call
// rate vs CPU use) into dir, one line per system, and returns their names.
func Plots(dir string, systems []SystemResult, maxP99Ms float64) ([]string, error) {
	type spec struct {
		file, title, y string
		val            func(Step) float64
	}
	specs := []spec{
		{"latency.png", "Call rate vs p99 set-up time (INVITE -> 200)", "p99 set-up (ms, log scale; SIPp's clock is 1 ms)",
			func(s Step) float64 { return math.Max(1, float64(s.Setup.P99.Microseconds())/1000) }},
		{"cpu.png", "Call rate vs CPU of the system under test", "CPU (% of one core)",
			func(s Step) float64 { return s.CPU }},
	}
	var files []string
	for _, sp := range specs {
		p := plot.New()
		p.Title.Text = sp.title
		p.X.Label.Text = "target call rate (calls/s, log scale)"
		p.Y.Label.Text = sp.y
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		if sp.file == "latency.png" {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		var args []any
		for _, sys := range systems {
			var xy plotter.XYs
			for _, s := range sys.Steps {
				if s.Error != "" || s.Setup.Samples == 0 || s.Rate <= 0 {
					continue
				}
				xy = append(xy, plotter.XY{X: s.Rate, Y: sp.val(s)})
			}
			if len(xy) > 0 {
				args = append(args, sys.Name, xy)
			}
		}
		if len(args) == 0 {
			continue
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return files, fmt.Errorf("harness: plot: %w", err)
		}
		if sp.file == "latency.png" && maxP99Ms > 0 {
			limit, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: maxP99Ms}, {X: p.X.Max, Y: maxP99Ms}})
			if err == nil {
				limit.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
				p.Add(limit)
				p.Legend.Add(fmt.Sprintf("criterion p99 < %.0f ms", maxP99Ms), limit)
			}
		}
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, sp.file)); err != nil {
			return files, fmt.Errorf("harness: plot: %w", err)
		}
		files = append(files, sp.file)
	}
	return files, nil
}
