package lambdatest_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// bodyRecorder is an HTTP client that sends requests and keeps the
// request bodies as the transport sees them.
type bodyRecorder struct{ bodies []io.ReadCloser }

func (b *bodyRecorder) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b.bodies = append(b.bodies, r.Body)
	}
	return http.DefaultClient.Do(r)
}

// TestClientBodiesEndCleanly: the SDK closes a request body as soon as Do
// returns, while net/http's writeLoop may still be checking the body for
// bytes past its Content-Length with io.Copy. That copy of a closed body
// must end cleanly (nil error); an error there makes the transport close
// the connection under the response being read, which failed TestSource
// in package awslambda now and then with "use of closed network
// connection".
func TestClientBodiesEndCleanly(t *testing.T) {
	srv := lambdatest.NewServer(lambdatest.Options{})
	t.Cleanup(srv.Close)
	ctx := context.Background()

	var cwRec, lRec bodyRecorder
	cw := srv.CloudWatchClient(func(o *cloudwatch.Options) { o.HTTPClient = &cwRec })
	end := time.Now().Truncate(time.Minute)
	_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-time.Hour)), EndTime: aws.Time(end),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Invocations")},
			Period: aws.Int32(60), Stat: aws.String("Sum"),
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lc := srv.LambdaClient(func(o *lambda.Options) { o.HTTPClient = &lRec })
	_, _ = lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("absent"), Name: aws.String("live"), FunctionVersion: aws.String("1")})

	for _, c := range []struct {
		client string
		rec    *bodyRecorder
	}{{"CloudWatchClient", &cwRec}, {"LambdaClient", &lRec}} {
		if len(c.rec.bodies) == 0 {
			t.Errorf("%s: no request with a body was sent", c.client)
		}
		for i, b := range c.rec.bodies {
			if n, err := io.Copy(io.Discard, b); n != 0 || err != nil {
				t.Errorf("%s request %d: copying the body after the call = %d bytes, %v; want 0, nil", c.client, i, n, err)
			}
		}
	}
}
