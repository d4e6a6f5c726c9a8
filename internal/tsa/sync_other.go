//go:build !linux

package tsa

import "time"

// Elsewhere the kernel's state is not read: synchronisation is unknown.
func kernelStatus() (time.Duration, bool) { return 0, false }

func kernelAvailable() bool { return false }
