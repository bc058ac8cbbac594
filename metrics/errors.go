package metrics

import "errors"

// ErrBadName is returned by AddGaugeFunc and AddCounterFunc for a metric name
// without the sbc_ prefix or that is not a valid Prometheus metric name.
var ErrBadName = errors.New("metrics: invalid metric name")
