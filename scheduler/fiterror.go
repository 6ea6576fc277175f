package scheduler

import (
	"sort"
	"strconv"
	"strings"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// fitError renders upstream's FitError message:
//
//	0/N nodes are available: <PreFilterMsg>. <sorted reason histogram>. <PostFilterMsg>
//
// The histogram counts every reason of every rejected node ("2 Insufficient
// cpu"), plus the reasons of the nodes without an explicit status (those a
// PreFilter result excluded); entries are sorted as strings, exactly as
// upstream's sortReasonsHistogram does (so "10 x" sorts before "2 y").
type fitError struct {
	numAllNodes   int
	preFilterMsg  string
	failed        []nodeStatus
	absent        *fw.Status
	absentCount   int
	postFilterMsg string
}

// Error is the message.
func (f fitError) Error() string {
	var b strings.Builder
	b.WriteString("0/")
	b.WriteString(strconv.Itoa(f.numAllNodes))
	b.WriteString(" nodes are available:")
	if f.preFilterMsg != "" {
		b.WriteString(" ")
		b.WriteString(f.preFilterMsg)
		b.WriteString(".")
	} else {
		counts := map[string]int{}
		for _, ns := range f.failed {
			for _, r := range ns.status.Reasons() {
				counts[r]++
			}
		}
		if f.absent != nil && f.absentCount > 0 {
			for _, r := range f.absent.Reasons() {
				counts[r] += f.absentCount
			}
		}
		hist := make([]string, 0, len(counts))
		for r, c := range counts {
			hist = append(hist, strconv.Itoa(c)+" "+r)
		}
		sort.Strings(hist)
		if len(hist) > 0 {
			b.WriteString(" ")
			b.WriteString(strings.Join(hist, ", "))
			b.WriteString(".")
		}
	}
	if f.postFilterMsg != "" {
		b.WriteString(" ")
		b.WriteString(f.postFilterMsg)
	}
	return b.String()
}
