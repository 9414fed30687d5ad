package flows

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestSchemaDocumentsEveryKey keeps docs/flow.schema.json in step with the
// flow's Go types: an administrator's editor must not flag a key tsunagu
// reads, nor miss a text it says.
func TestSchemaDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../docs/flow.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("docs/flow.schema.json: %v", err)
	}
	documented := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for k := range props {
					documented[k] = true
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(schema)

	seen := map[reflect.Type]bool{}
	var keys func(typ reflect.Type, path string)
	keys = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Slice || typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			if !documented[name] {
				t.Errorf("%s.%s (yaml %q) is not in docs/flow.schema.json", path, f.Name, name)
			}
			keys(f.Type, path+"."+f.Name)
		}
	}
	keys(reflect.TypeFor[Flow](), "Flow")

	for _, set := range []map[string]string{FixedTexts, OptionalTexts} {
		for k := range set {
			if !documented[k] {
				t.Errorf("texts.%s is not in docs/flow.schema.json", k)
			}
		}
	}
}
