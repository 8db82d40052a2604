module conformance-go

go 1.25.0

require (
	github.com/binance/binance-connector-go/clients/spot v1.8.0
	github.com/binance/binance-connector-go/common/v2 v2.2.0
)

require (
	github.com/andybalholm/brotli v1.2.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78 // indirect
	golang.org/x/crypto v0.46.0 // indirect
	golang.org/x/net v0.47.0 // indirect
)
