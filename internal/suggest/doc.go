// Package suggest finds the name a user probably meant: the "did you mean"
// hints of the scenario loader, the CLI and admission messages.
package suggest
