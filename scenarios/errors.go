package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a scenario, located at a line of a file. Its text is
// `FILE:LINE: field.path: message` (or `FILE:LINE: message` without a path),
// or `FILE: message` for a problem with the file as a whole (it cannot be
// read).
type Error struct {
	File    string // the file as named to the loader, or joined with the scenario's directory for spec.files
	Line    int    // 1-based; 0 only when the file itself cannot be read
	Column  int    // 1-based; 0 when unknown (not printed)
	Path    string // field path from the document root, e.g. spec.events[2].action; may be empty
	Message string // one line
}

// Error formats the error as FILE:LINE: path: message (FILE: message
// without a line).
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Message)
	}
	if e.Path == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Path, e.Message)
}

// ErrorList is every problem found in a scenario, ordered by file (the
// scenario first, then spec.files in order), line and column.
type ErrorList []*Error

// Error prints one error per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// maxPathLen bounds the field paths printed (pathological nesting).
const maxPathLen = 160

// errorSet collects errors during a load; the loader sorts them once at the end.
type errorSet struct {
	list     ErrorList
	fileRank map[string]int // order of files: the scenario is 0, spec.files follow
	seen     map[string]bool
}

func newErrorSet() *errorSet {
	return &errorSet{fileRank: map[string]int{}, seen: map[string]bool{}}
}

// rank registers file in the order files are first mentioned.
func (s *errorSet) rank(file string) {
	if _, ok := s.fileRank[file]; !ok {
		s.fileRank[file] = len(s.fileRank)
	}
}

// add records an error; duplicates (same place and text) are dropped.
func (s *errorSet) add(file string, line, col int, path, msg string) {
	if line < 1 {
		line, col = 1, 0
	}
	msg = oneLine(msg)
	path = escapeUnprintable(path)
	if len(path) > maxPathLen {
		path = path[:maxPathLen/2] + "…" + path[len(path)-maxPathLen/2:]
	}
	e := &Error{File: file, Line: line, Column: col, Path: path, Message: msg}
	key := e.Error() + fmt.Sprintf("#%d", col)
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.rank(file)
	s.list = append(s.list, e)
}

// sorted returns the errors ordered by file rank, line and column; the sort is
// stable so errors on one spot keep the order they were found in.
func (s *errorSet) sorted() ErrorList {
	out := slices.Clone(s.list)
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(s.fileRank[a.File], s.fileRank[b.File]),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
	return out
}

// oneLine collapses whitespace runs containing newlines so that every error
// stays on its own line.
// escapeUnprintable writes the unprintable characters of a field path as Go
// escapes (a path built from a decoder's field path can hold a key's raw
// newline; the paths joinKey builds are already quoted).
func escapeUnprintable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strconv.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
