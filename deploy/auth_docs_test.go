package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/dataplane"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Every config in docs/auth/ loads; those that need no file or cloud
// metadata are built into an engine too (an aws-sigv4 destination loads
// the AWS config chain: here from the environment).
func TestAuthDocsConfigs(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIADOCS")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "docs")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	pages, err := filepath.Glob("../docs/auth/*.md")
	if err != nil || len(pages) < 5 {
		t.Fatalf("%d pages in docs/auth: %v", len(pages), err)
	}
	env := map[string]string{"API_CLIENT_SECRET": "s"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlock.FindAllSubmatch(b, -1)
		if len(blocks) == 0 {
			t.Errorf("%s: no yaml config", page)
		}
		for i, m := range blocks {
			name := filepath.Base(page) + "#" + string(rune('1'+i))
			cfg, err := config.Parse(name, m[1], config.Options{SkipFiles: true, LookupEnv: lookup})
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if len(cfg.Warnings) > 0 {
				t.Errorf("%s: warnings %v", name, cfg.Warnings)
			}
			build := true
			for _, d := range cfg.DestinationList() {
				if d.Auth == nil {
					t.Errorf("%s: destination %s has no auth", name, d.Name)
				} else if d.Auth.Type == config.AuthGoogleID || d.Auth.Type == config.AuthBearerFile {
					build = false // they read files that are not here
				}
			}
			if build && !strings.Contains(name, "gcp") {
				if _, err := connector.New(cfg, dataplane.Options{}, "test"); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
	}
}
