package handoff

// What the Slack app must grant and send for this package to work. The app
// manifest in deploy/slack-app-manifest.yaml is tested against these lists,
// and the lists against the Web API methods the package calls.
var (
	// BotScopes are the bot token scopes: chat:write posts and updates
	// cards and thread notes; reactions:write ticks a relayed reply;
	// channels:history and groups:history deliver thread replies in public
	// and private channels; users:read finds a staff member's name when
	// SLACK_SHOW_STAFF_NAMES is on.
	BotScopes = []string{"chat:write", "reactions:write", "channels:history", "groups:history", "users:read"}
	// BotEvents are the bot events subscribed to: messages in public and
	// private channels, of which thread replies to a case card are relayed.
	BotEvents = []string{"message.channels", "message.groups"}
	// AppTokenScopes are the app-level token's scopes, for Socket Mode only.
	AppTokenScopes = []string{"connections:write"}
)
