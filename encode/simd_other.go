//go:build !amd64 || purego

package encode

// Without AVX2 kernels the word-at-a-time code does everything.
var haveAVX2 = false

func base64AVX2(dst, src []byte) int { return 0 }

func scanSafeAVX2(s []byte) int { return 0 }
