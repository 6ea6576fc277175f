// Package record is kubesim's event recorder: client-go's
// record.EventRecorder interface writing core/v1 Events through the API
// server, so components report "Scheduled", "SuccessfulCreate",
// "NodeNotReady", ... exactly as upstream's do, and kubectl-style listings of
// events read the same.
package record
