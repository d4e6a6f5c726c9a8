package keys

import (
	"crypto/aes"
	"crypto/x509/pkix"
	"encoding/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// OIDs of the one envelope accepted: PBES2 with PBKDF2 and AES-CBC, as we and openssl write it.
const (
	oidPBES2     = "1.2.840.113549.1.5.13"
	oidPBKDF2    = "1.2.840.113549.1.5.12"
	oidAES128CBC = "2.16.840.1.101.3.4.1.2"
	oidAES192CBC = "2.16.840.1.101.3.4.1.22"
	oidAES256CBC = "2.16.840.1.101.3.4.1.42"
)

// maxKDFIterations bounds the work a damaged or hostile key file can make us do.
const maxKDFIterations = 10_000_000

// checkEnvelope vets an EncryptedPrivateKeyInfo before youmark/pkcs8 decrypts it: that library
// panics on a short IV or a partial cipher block and trusts the file's iteration count.
func checkEnvelope(der []byte) error {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}
	var pbes2 struct{ KDF, Cipher pkix.AlgorithmIdentifier }
	var kdf struct {
		Salt       []byte
		Iterations int
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	var iv []byte
	switch rest, err := asn1.Unmarshal(der, &info); {
	case err != nil || len(rest) != 0:
		return fail(errkind.Invalid, err, "not an encrypted PKCS#8 key")
	case info.Algorithm.Algorithm.String() != oidPBES2:
		return unsupportedEnvelope("scheme " + info.Algorithm.Algorithm.String())
	}
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &pbes2); err != nil {
		return fail(errkind.Invalid, err, "bad PBES2 parameters")
	}
	if pbes2.KDF.Algorithm.String() != oidPBKDF2 {
		return unsupportedEnvelope("key derivation " + pbes2.KDF.Algorithm.String())
	}
	if _, err := asn1.Unmarshal(pbes2.KDF.Parameters.FullBytes, &kdf); err != nil {
		return fail(errkind.Invalid, err, "bad PBKDF2 parameters")
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxKDFIterations {
		return fail(errkind.Invalid, nil, "PBKDF2 iteration count %d is outside 1..%d", kdf.Iterations, maxKDFIterations)
	}
	switch c := pbes2.Cipher.Algorithm.String(); c {
	case oidAES128CBC, oidAES192CBC, oidAES256CBC:
	default:
		return unsupportedEnvelope("cipher " + c)
	}
	if _, err := asn1.Unmarshal(pbes2.Cipher.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return fail(errkind.Invalid, err, "bad AES-CBC initialisation vector")
	}
	if len(info.Data) == 0 || len(info.Data)%aes.BlockSize != 0 {
		return fail(errkind.Invalid, nil, "encrypted key data is truncated")
	}
	return nil
}

func unsupportedEnvelope(what string) error {
	return fail(errkind.Invalid, nil, "key encryption %s is not supported; use PBES2 with PBKDF2 and AES-CBC (openssl pkcs8 -topk8 -v2 aes-256-cbc)", what)
}
