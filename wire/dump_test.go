package wire

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
)

// dumpCDT renders a list or map value as compact text for assertions:
// JSON-like, with order flags shown as a leading "@F" and typed bytes as
// "tN:base64". It is a test model, independent of encode/.
func dumpCDT(t testing.TB, v []byte) string {
	t.Helper()
	var r CDTReader
	r.Reset(v)
	var sb strings.Builder
	type lvl struct {
		n     int
		isMap bool
	}
	var stack []lvl
	var tok CDTToken
	for {
		err := r.Next(&tok)
		if err == ErrCDTEnd {
			break
		}
		if err != nil {
			t.Fatalf("walk %x: %v", v, err)
		}
		if tok.Kind == CDTEnd {
			l := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if l.isMap {
				sb.WriteByte('}')
			} else {
				sb.WriteByte(']')
			}
			continue
		}
		if len(stack) > 0 {
			l := &stack[len(stack)-1]
			if l.n > 0 {
				if l.isMap && l.n%2 == 1 {
					sb.WriteByte(':')
				} else {
					sb.WriteByte(',')
				}
			}
			l.n++
		}
		switch tok.Kind {
		case CDTList, CDTMap:
			if tok.Kind == CDTList {
				sb.WriteByte('[')
			} else {
				sb.WriteByte('{')
			}
			if tok.Flags != 0 {
				sb.WriteString("@" + strconv.Itoa(int(tok.Flags)) + " ")
			}
			stack = append(stack, lvl{isMap: tok.Kind == CDTMap})
		case CDTNil:
			sb.WriteString("null")
		case CDTBool:
			sb.WriteString(strconv.FormatBool(tok.Bool))
		case CDTInt:
			sb.WriteString(strconv.FormatInt(tok.Int, 10))
		case CDTUint:
			sb.WriteString(strconv.FormatUint(tok.Uint, 10))
		case CDTFloat:
			sb.WriteString(strconv.FormatFloat(tok.Float, 'g', -1, 64))
		case CDTString:
			sb.WriteString(strconv.Quote(string(tok.Bytes)))
		case CDTBytes:
			sb.WriteString("b:" + base64.StdEncoding.EncodeToString(tok.Bytes))
		case CDTTyped:
			sb.WriteString("t" + strconv.Itoa(int(tok.Sub)) + ":" + base64.StdEncoding.EncodeToString(tok.Bytes))
		case CDTExt:
			sb.WriteString("x" + strconv.Itoa(int(tok.Sub)) + ":" + base64.StdEncoding.EncodeToString(tok.Bytes))
		}
	}
	return sb.String()
}
