package library

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/kubesim/kubesim/scenarios"
)

//go:embed *.yaml
var files embed.FS

// FS holds the scenarios, one NAME.yaml each at its root.
var FS fs.FS = files

// Info is a built-in scenario's name and description.
type Info struct {
	Name        string
	Description string
}

// Names lists the built-in scenarios, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(fmt.Sprintf("library: cannot list the embedded scenarios: %v", err))
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	slices.Sort(out)
	return out
}

// Has reports whether name is a built-in scenario.
func Has(name string) bool { return slices.Contains(Names(), name) }

// Load loads the built-in scenario name (its file is NAME.yaml).
func Load(name string, opts ...scenarios.Option) (*scenarios.Scenario, error) {
	return scenarios.LoadFS(files, path.Clean(name)+".yaml", opts...)
}

// List loads every built-in scenario and returns its name and description.
// A scenario that does not load is a bug of the library and panics.
func List() []Info {
	var out []Info
	for _, n := range Names() {
		sc, err := Load(n)
		if err != nil {
			panic(fmt.Sprintf("library: built-in scenario %s does not load: %v", n, err))
		}
		out = append(out, Info{Name: n, Description: sc.Metadata.Description})
	}
	return out
}
