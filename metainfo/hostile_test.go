package metainfo

import (
	"math"
	"strings"
	"testing"
	"time"
)

// baseTorrent returns a valid multi-file torrent as nested maps, for hostile
// tests to spoil one field at a time.
func baseTorrent() (top, info map[string]any) {
	info = map[string]any{
		"name":         "n",
		"piece length": 16384,
		"pieces":       strings.Repeat("x", 20),
		"files":        []any{file(10, "a")},
	}
	return map[string]any{"announce": "http://t/", "info": info}, info
}

// file returns one files entry.
func file(length int64, path ...string) map[string]any {
	p := make([]any, len(path))
	for i, e := range path {
		p[i] = e
	}
	return map[string]any{"length": length, "path": p}
}

// TestParseHostile checks that every malformed or dangerous torrent is
// refused with an error saying what is wrong.
func TestParseHostile(t *testing.T) {
	big := int64(math.MaxInt64/2 + 1)
	tests := []struct {
		name    string
		spoil   func(top, info map[string]any)
		wantErr string
	}{
		{"dotdot", func(_, i map[string]any) { i["files"] = []any{file(10, "..", "x")} }, `path element ".." not allowed`},
		{"dot", func(_, i map[string]any) { i["files"] = []any{file(10, "x", ".")} }, `path element "." not allowed`},
		{"absolute", func(_, i map[string]any) { i["files"] = []any{file(10, "", "etc", "passwd")} }, "empty path element"},
		{"slash", func(_, i map[string]any) { i["files"] = []any{file(10, "a/b")} }, "contains"},
		{"backslash", func(_, i map[string]any) { i["files"] = []any{file(10, `a\b`)} }, "contains"},
		{"nul", func(_, i map[string]any) { i["files"] = []any{file(10, "a\x00b")} }, "contains"},
		{"empty path", func(_, i map[string]any) { i["files"] = []any{file(10)} }, "file 0: empty path"},
		{"no path", func(_, i map[string]any) { i["files"] = []any{map[string]any{"length": 10}} }, "empty path"},
		{"utf8 path dotdot", func(_, i map[string]any) {
			f := file(10, "ok")
			f["path.utf-8"] = []any{"..", "x"}
			i["files"] = []any{f}
		}, `".." not allowed`},
		{"name dotdot", func(_, i map[string]any) { i["name"] = ".." }, `name: path element ".." not allowed`},
		{"name slash", func(_, i map[string]any) { i["name"] = "/etc" }, "name: path element"},
		{"name utf8 dotdot", func(_, i map[string]any) { i["name.utf-8"] = ".." }, "name: path element"},
		{"name empty", func(_, i map[string]any) { i["name"] = "" }, "name missing or empty"},
		{"name missing", func(_, i map[string]any) { delete(i, "name") }, "name missing or empty"},
		{"piece length 0", func(_, i map[string]any) { i["piece length"] = 0 }, "piece length 0 out of range"},
		{"piece length -1", func(_, i map[string]any) { i["piece length"] = -1 }, "piece length -1 out of range"},
		{"piece length huge", func(_, i map[string]any) { i["piece length"] = MaxPieceLength + 1 }, "out of range"},
		{"piece length string", func(_, i map[string]any) { i["piece length"] = "16384" }, "piece length missing"},
		{"pieces 19", func(_, i map[string]any) { i["pieces"] = strings.Repeat("x", 19) }, "not a multiple of 20"},
		{"pieces missing", func(_, i map[string]any) { delete(i, "pieces") }, "pieces missing"},
		{"too many pieces", func(_, i map[string]any) { i["pieces"] = strings.Repeat("x", 40) }, "2 piece hashes but 10 bytes need 1"},
		{"too few pieces", func(_, i map[string]any) { i["files"] = []any{file(16385, "a")} }, "1 piece hashes but 16385 bytes need 2"},
		{"negative file length", func(_, i map[string]any) { i["files"] = []any{file(-1, "a")} }, "file 0: negative length"},
		{"negative length", func(_, i map[string]any) { delete(i, "files"); i["length"] = -5 }, "negative length -5"},
		{"length string", func(_, i map[string]any) { delete(i, "files"); i["length"] = "5" }, "length is not an integer"},
		{"missing file length", func(_, i map[string]any) { i["files"] = []any{map[string]any{"path": []any{"a"}}} }, "length missing"},
		{"overflow", func(_, i map[string]any) { i["files"] = []any{file(big, "a"), file(big, "b")} }, "file 1: total length overflows"},
		{"total zero", func(_, i map[string]any) { i["files"] = []any{file(0, "a"), file(0, "b")} }, "nothing to download"},
		{"both", func(_, i map[string]any) { i["length"] = 10 }, "both length and files"},
		{"neither", func(_, i map[string]any) { delete(i, "files") }, "neither length nor files"},
		{"files empty", func(_, i map[string]any) { i["files"] = []any{} }, "files list is empty"},
		{"files not list", func(_, i map[string]any) { i["files"] = "x" }, "metainfo: files"},
		{"duplicate", func(_, i map[string]any) { i["files"] = []any{file(5, "a"), file(5, "a")} }, "file 1: path \"n/a\" already used by a file"},
		{"file then dir", func(_, i map[string]any) { i["files"] = []any{file(5, "a"), file(5, "a", "b")} }, "already used by a file"},
		{"dir then file", func(_, i map[string]any) { i["files"] = []any{file(5, "a", "b"), file(5, "a")} }, "already used by a directory"},
		{"info missing", func(top, _ map[string]any) { delete(top, "info") }, "info dictionary missing"},
		{"info not dict", func(top, _ map[string]any) { top["info"] = "x" }, "info is not a dictionary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, info := baseTorrent()
			tt.spoil(top, info)
			checkRefused(t, encode(t, top), tt.wantErr)
		})
	}
}

// TestParseHostileBytes checks refusals of byte-level damage.
func TestParseHostileBytes(t *testing.T) {
	top, _ := baseTorrent()
	valid := encode(t, top)
	if _, err := Parse(valid); err != nil {
		t.Fatalf("base torrent refused: %v", err)
	}
	deep := strings.Repeat("l", 100000) + strings.Repeat("e", 100000)
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"trailing data", string(valid) + "x", "trailing data"},
		{"second value", string(valid) + "de", "trailing data"},
		{"truncated", string(valid[:len(valid)-5]), "truncated"},
		{"truncated in string", string(valid[:20]), "truncated"},
		{"empty", "", "top level is not a dictionary"},
		{"list", "li1ee", "top level is not a dictionary"},
		{"integer", "i3e", "top level is not a dictionary"},
		{"deep list", deep, "top level is not a dictionary"},
		{"deep in dict", "d1:a" + deep + "e", "nesting deeper"},
		{"deep in info", "d4:info" + deep + "e", "nesting deeper"},
		{"huge string length", "d4:info99999999999999999999999:e", "truncated"},
		{"int key", "di1ei2ee", "key is not a string"},
		{"key without value", "d1:ae", "key without value"},
		{"leading zero", "d1:ai03ee", "leading zero"},
		{"negative zero", "d1:ai-0ee", "negative zero"},
		{"bad type", "d1:axe", "unknown value type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			checkRefused(t, []byte(tt.data), tt.wantErr)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// checkRefused asserts Parse fails on data with an error containing want.
func checkRefused(t *testing.T, data []byte, want string) {
	t.Helper()
	m, err := Parse(data)
	if err == nil {
		t.Fatalf("Parse accepted it: %+v", m.Info)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q, want it to contain %q", err, want)
	}
	if !strings.HasPrefix(err.Error(), "metainfo: ") {
		t.Errorf("err = %q lacks the package prefix", err)
	}
}

// TestParseNamesAndKeys covers the refusals added for the hostile-input
// suite: names that are not UTF-8 or hold control characters, and duplicate
// dictionary keys; unsorted keys and a valid name.utf-8 beside a raw name
// are accepted.
func TestParseNamesAndKeys(t *testing.T) {
	h := strings.Repeat("x", 20)
	single := func(fields string) string {
		return "d4:infod" + fields + "12:piece lengthi16384e6:pieces20:" + h + "ee"
	}
	tests := []struct {
		name, data, wantErr string // wantErr "" means accepted
	}{
		{"name not utf8", single("6:lengthi10e4:name2:\xff\xfe"), "not valid UTF-8"},
		{"name escape", single("6:lengthi10e4:name7:a\x1b[2J b"), "control character"},
		{"name newline", single("6:lengthi10e4:name3:a\nb"), "control character"},
		{"name C1", single("6:lengthi10e4:name4:a\u009bb"), "control character"},
		{"raw name, utf-8 alternative", single("6:lengthi10e4:name2:\xff\xfe10:name.utf-82:ok"), ""},
		{"path not utf8", "d4:infod5:filesld6:lengthi10e4:pathl1:\xffeee4:name1:n12:piece lengthi16384e6:pieces20:" + h + "ee", "not valid UTF-8"},
		{"duplicate name", single("6:lengthi10e4:name1:a4:name2:.."), `duplicate dictionary key "name"`},
		{"duplicate unsorted", single("4:name1:a6:lengthi10e4:name1:b"), `duplicate dictionary key "name"`},
		{"duplicate info", single("6:lengthi10e4:name1:a")[:len(single("6:lengthi10e4:name1:a"))-1] +
			"4:infod6:lengthi10e4:name1:b12:piece lengthi16384e6:pieces20:" + h + "ee", `duplicate dictionary key "info"`},
		{"duplicate in file", "d4:infod5:filesld6:lengthi10e6:lengthi10e4:pathl1:aeee4:name1:n12:piece lengthi16384e6:pieces20:" + h + "ee", `duplicate dictionary key "length"`},
		{"unsorted", single("4:name1:a6:lengthi10e"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr != "" {
				checkRefused(t, []byte(tt.data), tt.wantErr)
				return
			}
			if _, err := Parse([]byte(tt.data)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}
