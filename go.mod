module github.com/tsunagu-city/tsunagu

go 1.26.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-chi/chi/v5 v5.5.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/line/line-bot-sdk-go/v8 v8.14.0 // indirect
	github.com/looplab/fsm v1.0.3 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/slack-go/slack v0.35.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
