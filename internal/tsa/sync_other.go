//go:build !linux

package tsa

import (
	"os"
	"time"
)

// Elsewhere the kernel's state is not read: synchronisation is unknown.
func kernelStatus() (time.Duration, bool) { return 0, false }

func kernelAvailable() bool { return false }

func fdatasync(f *os.File) error { return f.Sync() }

// LocalFS is false where it cannot be told: the TSA records directly.
func LocalFS(string) bool { return false }
