package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFormatClock(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                          "0:00:00.000",
		time.Millisecond:           "0:00:00.001",
		330 * time.Second:          "0:05:30.000",
		2756900 * time.Microsecond: "0:00:02.756",
		time.Hour + 2*time.Minute + 3*time.Second + 45*time.Millisecond:       "1:02:03.045",
		25*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Millisecond: "25:59:59.999",
	} {
		assert.Equal(t, want, FormatClock(d), "%v", d)
	}
}
