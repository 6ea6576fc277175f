// Package library is kubesim's built-in scenario library: YAML scenarios
// embedded in the binary, each runnable by name (kubesim run node-failure)
// and listed by kubesim scenarios. Every scenario has a description and
// expectations that pass on kubesim's cluster model.
package library
