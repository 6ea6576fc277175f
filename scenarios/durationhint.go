package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// unitWords are the spelled-out units people write, with Go's unit.
var unitWords = []struct {
	re   *regexp.Regexp
	unit string
}{
	{regexp.MustCompile(`^(milliseconds?|millis|msecs?)`), "ms"},
	{regexp.MustCompile(`^(hours?|hrs?)`), "h"},
	{regexp.MustCompile(`^(minutes?|mins?)`), "m"},
	{regexp.MustCompile(`^(seconds?|secs?)`), "s"},
}

var durationNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]*)?`)

// durationHint suggests the duration a writer most likely meant by an
// invalid one: units spelled out ("5 minutes", "2 min"), days ("1d"), or a
// last number without its unit ("1m30" is 1m30s, "1h5" is 1h5m). It returns
// ` (did you mean "5m"?)` or "".
func durationHint(s string) string {
	rest := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	var total time.Duration
	last := ""
	for rest != "" {
		num := durationNumber.FindString(rest)
		if num == "" {
			return ""
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return ""
		}
		rest = rest[len(num):]
		unit := ""
		switch {
		case rest == "":
			// a bare last number: the unit below the previous one
			unit = map[string]string{"h": "m", "m": "s"}[last]
			if unit == "" {
				return ""
			}
		case strings.HasPrefix(rest, "days") || strings.HasPrefix(rest, "day") || strings.HasPrefix(rest, "d"):
			rest = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(rest, "d"), "ay"), "s")
			v, unit = v*24, "h"
		default:
			for _, w := range unitWords {
				if m := w.re.FindString(rest); m != "" {
					rest, unit = rest[len(m):], w.unit
					break
				}
			}
			if unit == "" {
				for _, u := range []string{"ns", "us", "µs", "ms", "h", "m", "s"} {
					if strings.HasPrefix(rest, u) {
						rest, unit = rest[len(u):], u
						break
					}
				}
			}
			if unit == "" {
				return ""
			}
		}
		d, err := time.ParseDuration(strconv.FormatFloat(v, 'f', -1, 64) + unit)
		if err != nil {
			return ""
		}
		total += d
		last = unit
	}
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", FormatDuration(total))
}
