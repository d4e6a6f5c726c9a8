package storetest

// ocspCases returns the conformance cases of pre-signed OCSP responses.
func ocspCases() []testCase { return nil }
