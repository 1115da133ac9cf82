package lambdatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Lambda errors on the wire (docs/platforms/aws-lambda.md §1 "Errors on the wire", from
// smithy-go restjson1 and SDK-L schemas.go): the code travels in the
// X-Amzn-ErrorType header, the body carries "Type" ("User" or "Service")
// and the message under "message" — except ResourceNotFoundException and
// ServiceException, whose member is "Message" (as is ResourceInUseException's,
// MODEL-L).

// apiError is a Lambda error the handlers return.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errNotFound(format string, a ...any) *apiError {
	return &apiError{http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf(format, a...)}
}

func errInvalid(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf(format, a...)}
}

// errValidation is a model-constraint failure (length, range, pattern):
// the service answers ValidationException, not InvalidParameterValue
// (docs/platforms/aws-lambda.md §1 "Weighted aliases", last rows).
func errValidation(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: " + fmt.Sprintf(format, a...)}
}

func errConflict(format string, a ...any) *apiError {
	return &apiError{http.StatusConflict, "ResourceConflictException", fmt.Sprintf(format, a...)}
}

func errPrecondition() *apiError {
	return &apiError{http.StatusPreconditionFailed, "PreconditionFailedException",
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"}
}

func errBadRequest(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestContentException", fmt.Sprintf(format, a...)}
}

func writeLambdaError(w http.ResponseWriter, status int, code, msg string) {
	typ := "User"
	if status >= 500 {
		typ = "Service"
	}
	body := map[string]string{"Type": typ}
	switch code {
	case "ResourceNotFoundException", "ServiceException", "ResourceInUseException":
		body["Message"] = msg
	default:
		body["message"] = msg
	}
	w.Header().Set("X-Amzn-ErrorType", code)
	writeJSON(w, status, body)
}

func writeAPIError(w http.ResponseWriter, err *apiError) {
	writeLambdaError(w, err.status, err.code, err.message)
}

// writeThrottle answers 429 TooManyRequestsException with the Retry-After
// header (whole seconds, rounded up; bound to retryAfterSeconds in SDK-L
// schemas.go) and a Reason (ThrottleReason enum).
func writeThrottle(w http.ResponseWriter, after time.Duration, reason, msg string) {
	if after > 0 {
		secs := int64((after + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"Type": "User", "message": msg, "Reason": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", "lambdatest")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
