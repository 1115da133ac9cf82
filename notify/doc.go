// Package notify tells people about a release's outcome: the Notifier
// interface (one method), NotifierFunc, Multi to fan out, and the HTTP
// implementations beside it, Webhook (the Notification as JSON) and Slack
// (a Block Kit message). A response outside 2xx is an *HTTPError; errors
// never carry a webhook URL's secret path.
//
// The package imports provider only (for its ErrInvalid sentinel): the
// release workflow builds a Notification from its outcome and calls
// Notify; notifications know nothing of the workflow.
package notify
