# The one entry point for people and CI alike.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: run test down status bench deps build services

## run: install what is missing, build, start the servers and every service (portal on :8083)
run: deps
	scripts/run-suite start

## test: install what is missing, build, and run every test against real servers
test: deps
	scripts/test

## down: stop the services and the servers that `make run` started
down:
	scripts/run-suite stop

## status: what is running
status:
	scripts/run-suite status

## bench: the performance figures (COPY and MQTT receive rates against their C baselines)
bench: deps
	scripts/bench

## services: start only the local servers (PostgreSQL, Mosquitto, InfluxDB, S3) and write .dtp/env
services: deps
	scripts/dev-services start

deps:
	scripts/install-deps

build: deps
	swift build
