package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/dataplane"
)

// The configurations of docs/s3-archive.md load without a warning, are
// type s3 with auth aws-sigv4 for service s3, and build.
func TestS3ArchiveDocConfig(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIADOCS")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "docs")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	b, err := os.ReadFile("../docs/s3-archive.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllSubmatch(b, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/s3-archive.md: no yaml config")
	}
	for i, m := range blocks {
		name := "s3-archive.md#" + string(rune('1'+i))
		cfg, err := config.Parse(name, m[1], config.Options{SkipFiles: true})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("%s: warnings %v", name, cfg.Warnings)
		}
		for _, d := range cfg.DestinationList() {
			if d.Type != config.TypeS3 || d.Auth == nil || d.Auth.Type != config.AuthAWSSigV4 || d.Auth.Service != "s3" {
				t.Errorf("%s: destination %s: type %q, auth %+v", name, d.Name, d.Type, d.Auth)
			}
		}
		if _, err := connector.New(cfg, dataplane.Options{}, "test"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
