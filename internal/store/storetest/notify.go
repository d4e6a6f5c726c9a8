package storetest

// noticeCases returns the conformance cases of the notice outbox and the directory.
func noticeCases() []testCase { return nil }
