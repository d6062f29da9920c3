// Package deploy holds the deployment files of xdrhook and the tests that
// check them: the systemd unit (systemd/), the container image
// (container/Dockerfile), the Kubernetes manifests (kubernetes/) and the
// Grafana dashboard (grafana/). docs/deploying.md explains their use.
//
// The tests parse every file and check it against the code: the unit with
// systemd-analyze when it is installed (and its own parser in any case),
// the Dockerfile's stages, the manifests decoded strictly into the
// official Kubernetes types with their cross-references and the config
// they carry loaded by package config, and every metric a dashboard panel
// queries against a live xdrhook's /metrics.
package deploy
