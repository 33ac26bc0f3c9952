package kvschema

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// label63 is the longest DNS label.
var label63 = strings.Repeat("a", 63)

// hostileCommon are strings that must never pass any name, path or host check.
var hostileCommon = []string{
	"a`b", "a\\b", "a'b", `a"b`, "a(b", "a)b", "a||b", "a&&b", "a b", "a\tb", "a\nb", "a\rb", "a\x00b",
	"a;b", "a,b", "a!b", "a$b", "a{b}", "a<b>", "a%20b", "a?b", "a#b", "a*b", "a+b", "a=b",
	"а", "ａ", "a\u200bb", "a\u2028b", "a\u202eb", "é",
}

func TestValidateName(t *testing.T) {
	accepted := []string{"a", "Z", "0", "r1", "zsc-sentinel", "zsc-kick-42", "A-b-C", "a--b", label63,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"}
	rejected := append([]string{
		"", "-", "-a", "a-", "a.b", ".", "..", "a/b", "/", "a:b", "a@b", "a_b", "a~b", strings.Repeat("a", 64),
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // 64 hex chars
	}, hostileCommon...)
	for _, s := range accepted {
		t.Run("ok "+strconv.Quote(s), func(t *testing.T) { require.NoError(t, ValidateName(s)) })
	}
	for _, s := range rejected {
		t.Run("bad "+strconv.Quote(s), func(t *testing.T) {
			err := ValidateName(s)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestValidatePath(t *testing.T) {
	accepted := []string{
		"/a", "/p/k1", "/A/B", "/a.b", "/.a", "/a.", "/...", "/a_b~c-d", "/~user", "/0/1/2",
		"/zoe/proxy/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"/" + strings.Repeat("a", 1023), // exactly 1024 characters
	}
	rejected := []string{
		"", "a", "a/b", "/", "//", "/a/", "/a//b", "//a", "/.", "/..", "/a/.", "/a/..", "/a/../b", "/a/./b", "/../a",
		"/a b", "/a\tb", "/a\nb", "/a\x00", "/a`b", "/a\\b", "/a'b", `/a"b`, "/a(b", "/a)b", "/a||b", "/a&&b",
		"/a?b", "/a#b", "/a%20b", "/a;b", "/a,b", "/a:b", "/a@b", "/a*", "/ａ", "/а", "/a\u2215b", "/a\u200b",
		"/a`) || PathPrefix(`/", "/a`)", "/" + strings.Repeat("a", 1024),
		" /a", "\\a", "http://x/a",
	}
	for _, s := range hostileCommon {
		rejected = append(rejected, "/"+s)
	}
	for _, s := range accepted {
		t.Run("ok "+strconv.Quote(s), func(t *testing.T) { require.NoError(t, ValidatePath(s)) })
	}
	for _, s := range rejected {
		t.Run("bad "+strconv.Quote(s), func(t *testing.T) {
			err := ValidatePath(s)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestValidateHost(t *testing.T) {
	host253 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
	require.Len(t, host253, 253)
	accepted := []string{
		"a", "example.com", "a-b.example", "xn--bcher-kva.example", "10.0.0.1", "jupyter0-42-prod.zoe",
		label63 + ".example", host253,
	}
	rejected := []string{
		"", "Example.com", "EXAMPLE.COM", "exAmple.com", "a..b", ".a", "a.", ".", "..", "-a.com", "a-.com",
		strings.Repeat("a", 64) + ".example", host253 + "b", "a_b.com", "a:80", "a/b", "*.example.com",
		"exаmple.com", "ｅxample.com", "a.b\n", "[::1]", "::1",
		"x`) || Host(`evil", "x`)",
	}
	rejected = append(rejected, hostileCommon...)
	for _, s := range accepted {
		t.Run("ok "+strconv.Quote(s), func(t *testing.T) { require.NoError(t, ValidateHost(s)) })
	}
	for _, s := range rejected {
		t.Run("bad "+strconv.Quote(s), func(t *testing.T) {
			err := ValidateHost(s)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestValidateBackend(t *testing.T) {
	accepted := []string{
		"http://127.0.0.1:1", DeadBackend, "http://10.0.0.5:8080", "https://example.com:443", "h2c://backend:50051",
		"http://[::1]:8080", "http://[2001:db8::1]:80", "http://h:65535", "http://h:1", "http://h:80/",
		"http://Backend.Example:80", "HTTP://h:80",
	}
	rejected := []string{
		"", " ", "h:80", "//h:80", "h", "127.0.0.1:80",
		"http://h", "http://h:", "http://h:0", "http://h:65536", "http://h:99999", "http://h:-1", "http://h:+80", "http://h:8o",
		"http://h:80/path", "http://h:80/path/", "http://h:80//", "http://h:80/%2e%2e",
		"ftp://h:21", "file:///etc/passwd", "ws://h:80", "tcp://h:80", "javascript:alert(1)", "mailto:a@b",
		"http://user@h:80", "http://user:pw@h:80", "http://@h:80",
		"http://h:80?x=1", "http://h:80/?x=1", "http://h:80#frag", "http://h:80?", "http://h:80#", "http://h:80/?", "http://h:80/#",
		"http:h:80", "http:/h:80", "http:///h:80",
		"http://h_1:80", "http://h :80", "http://h\n:80", "http://h:80 ", " http://h:80", "http://h:80\t",
		"http://-h:80", "http://h-:80", "http://h..x:80", "http://:80", "http://[::1%25eth0]:80", "http://[::1]",
		"http://h`:80", "http://h\\:80", "http://exаmple.com:80", "http://*.h:80",
		"http://h:80:80", "http://" + strings.Repeat("a", 64) + ":80",
	}
	for _, s := range accepted {
		t.Run("ok "+strconv.Quote(s), func(t *testing.T) { require.NoError(t, ValidateBackend(s)) })
	}
	for _, s := range rejected {
		t.Run("bad "+strconv.Quote(s), func(t *testing.T) {
			err := ValidateBackend(s)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestValidateValue(t *testing.T) {
	accepted := []string{"", "true", "false", "0", "Host(`a`)", NeverMatchRule, "é", "日本語", "two words",
		"a\u200bb", strings.Repeat("a", MaxValueLength), strings.Repeat("é", MaxValueLength/2)}
	rejected := []string{
		"\x00", "a\nb", "\n", "a\rb", "\t", "a\x1b[31m", "\x7f", "\u0085", "\u009f",
		"\xff", "a\xc3", "\xed\xa0\x80", // invalid UTF-8, truncated sequence, surrogate
		strings.Repeat("a", MaxValueLength+1), strings.Repeat("é", MaxValueLength/2) + "a",
	}
	for _, s := range accepted {
		t.Run("ok "+strconv.Quote(s), func(t *testing.T) { require.NoError(t, ValidateValue(s)) })
	}
	for _, s := range rejected {
		t.Run("bad "+strconv.Quote(s), func(t *testing.T) {
			err := ValidateValue(s)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}
