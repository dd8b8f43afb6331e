# k2d: the Kubernetes API on one Docker host.
#
#   make run    build bin/k2d, make sure Docker runs, serve (prints: export KUBECONFIG=...)
#   make test   vet, unit tests and end-to-end tests against the local Docker engine (what CI runs)
#   make e2e    end-to-end tests only
#
# Root is needed the first time on a machine without Docker (scripts/ensure-docker.sh installs
# docker.io and busybox-static and starts dockerd).

SHELL := /bin/bash
GO ?= go
PKG := github.com/k2d-project/k2d
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# -X names both spellings of the variable: the linker calls a package main variable main.version,
# and silently ignores a -X whose symbol does not exist, so one of the two always lands.
LDFLAGS := -s -w -X $(PKG)/cmd/k2d.version=$(VERSION) -X main.version=$(VERSION)
K2D_DATA_PATH ?= $(HOME)/.k2d
# Size: inlining copies a function's body into every caller. In the packages k2d runs only at
# start or on writes (certificates, validation, the Kubernetes types' generated methods, the
# Docker types, reconcile) it buys nothing worth its bytes, so they are built with -l. The hot
# paths (codec, cache, fastapi, fasthttp, the runtime and the rest of the standard library) keep
# it: `make bench` shows no change there. k8s.io packages also wrap every global map literal in
# its own function (-d=wrapglobalmapctl=2), so the linker drops the maps nothing reads (the
# types' SwaggerDoc tables). Together: armv7 binary -1.3 MB (bench/RESULTS.md).
NOINLINE := sigs.k8s.io/... github.com/fxamacker/... github.com/json-iterator/... \
	github.com/modern-go/... github.com/x448/... github.com/docker/... github.com/molecule-man/... \
	go.uber.org/... crypto/x509/... crypto/ecdsa crypto/rsa \
	crypto/internal/fips140/rsa crypto/internal/fips140/ecdsa crypto/internal/fips140/nistec/... \
	crypto/internal/fips140/mlkem crypto/hpke encoding/asn1 math/big regexp/... fmt log/slog/... \
	text/... flag $(PKG)/reconcile $(PKG)/translate $(PKG)/dockerio $(PKG)/cmd/k2d $(PKG)/codec/openapi
GCFLAGS := $(foreach p,$(NOINLINE),-gcflags=$(p)=-l) '-gcflags=k8s.io/...=-l -d=wrapglobalmapctl=2'
# Generous: the end-to-end suite restarts k2d and Docker and waits for real containers.
TEST_TIMEOUT ?= 45m
BIN := $(CURDIR)/bin/k2d

.PHONY: all build run test e2e unit vet ensure-docker test-images clean bench bench-load armv7 armv6 arm64 arm-check budget

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath $(GCFLAGS) -ldflags "$(LDFLAGS)" -o bin/k2d ./cmd/k2d

ensure-docker:
	scripts/ensure-docker.sh

test-images: ensure-docker
	scripts/test-images.sh

run: ensure-docker build
	K2D_DATA_PATH="$(K2D_DATA_PATH)" exec $(BIN) serve

vet:
	$(GO) vet ./...

# One go test command for unit and end-to-end tests; e2e uses the binary built here.
# -p 1: one package at a time. Several packages drive the same Docker engine, and a k2d (the e2e
# suite's, or one a package starts) treats every container labelled io.k2d.managed=true as its
# own: run side by side, they would remove each other's containers.
test: test-images build vet
	K2D_BIN=$(BIN) scripts/gotest.sh -p 1 -count=1 -timeout $(TEST_TIMEOUT) ./...

e2e: test-images build
	K2D_BIN=$(BIN) scripts/gotest.sh -count=1 -timeout $(TEST_TIMEOUT) ./e2e/

unit: vet
	scripts/gotest.sh -p 1 -count=1 $$($(GO) list ./... | grep -v '/e2e$$')

clean:
	rm -rf bin

# Builds for devices: a static binary, a FROM-scratch image tar (`docker load -i`) and a Debian
# package with a systemd unit, all in bin/. $(call cross,name,GOARCH,GOARM,image variant,deb arch)
define cross
	CGO_ENABLED=0 GOOS=linux GOARCH=$(2) GOARM=$(3) $(GO) build -trimpath $(GCFLAGS) -ldflags "$(LDFLAGS)" -o bin/k2d-$(1) ./cmd/k2d
	$(GO) run ./build/armv7/mkimage -binary bin/k2d-$(1) -arch $(2) -variant $(4) -tag k2d/k2d:$(subst +,-,$(VERSION))-$(1) -o bin/k2d-$(1)-image.tar
	build/armv7/package.sh bin/k2d-$(1) $(5) $(VERSION) bin/k2d_$(1)_$(5).deb
endef

armv7:
	$(call cross,armv7,arm,7,v7,armhf)

# Raspberry Pi OS's armhf userland runs ARMv6 code (Pi Zero and Pi 1).
armv6:
	$(call cross,armv6,arm,6,v6,armhf)

arm64:
	$(call cross,arm64,arm64,,v8,arm64)

# What CI checks of the device builds (needs Docker and qemu-user-static).
arm-check: armv7 arm64
	build/armv7/check.sh armv7 linux/arm/v7 armhf qemu-arm-static
	build/armv7/check.sh arm64 linux/arm64/v8 arm64 qemu-aarch64-static

# Memory budgets under qemu-arm against the real Docker engine (bench/README.md); fails on a
# breach of the budgets K2D_BUDGET_ENFORCE names (default: all).
budget: build armv7
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath $(GCFLAGS) -ldflags "-s -w" -o bin/floor-armv7 ./bench/floor
	$(GO) run ./bench/budget -k2d bin/k2d-armv7 -k2d-native bin/k2d -floor bin/floor-armv7

# Go benchmarks of the codec, the cache and the HTTP path over an in-memory listener, built with
# the flags the binary is built with.
bench:
	$(GO) test $(GCFLAGS) -run '^$$' -bench . -benchmem -count=1 ./bench/

# The load scenario against the real binary and Docker engine (under 3 minutes); one table.
bench-load: test-images build
	$(GO) run ./bench/load -k2d $(BIN)
