// The cert-manager chart's startupapicheck as a plain process for the real-engine tier.
//
// The chart's post-install hook runs `cmctl check api --wait=1m` (templates/startupapicheck-job.yaml, v1.21.1);
// cmctl's module (github.com/cert-manager/cmctl/v2) is not served by the module proxy. What `check api` does is in
// the root module: pkg/util/cmapichecker creates a dry-run CertificateRequest that the mutating webhook must
// fill in and an invalid one the validating webhook must deny, so it passes only once the API server reaches the
// real webhook with an injected CA. This command retries that check until it passes or --wait runs out (cmctl's
// loop), printing the simple reason cmapichecker gives, and exits 0 or 1 as the hook pod would.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cert-manager/cert-manager/pkg/util/cmapichecker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "startupapicheck: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("startupapicheck", pflag.ContinueOnError)
	wait := fs.Duration("wait", 0, "retry until the API is ready or this much time has passed")
	interval := fs.Duration("interval", 5*time.Second, "time between checks")
	fs.BoolP("verbose", "v", false, "print the reason of each failed check")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server")
	namespace := fs.StringP("namespace", "n", os.Getenv("POD_NAMESPACE"), "namespace of the dry-run CertificateRequest")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if rest := fs.Args(); len(rest) != 2 || rest[0] != "check" || rest[1] != "api" {
		return fmt.Errorf("only `check api` is implemented, got %q", rest)
	}
	if *namespace == "" {
		*namespace = "default"
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	checker, err := cmapichecker.New(config, *namespace)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(*wait)
	for {
		err := checker.Check(ctx)
		if err == nil {
			fmt.Println("The cert-manager API is ready")
			return nil
		}
		if simple := cmapichecker.TranslateToSimpleError(err); simple != nil {
			err = fmt.Errorf("%w (%v)", simple, err)
		}
		fmt.Fprintf(os.Stderr, "Not ready: %v\n", err)
		if time.Now().After(deadline) || errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("timed out waiting for the cert-manager API: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*interval):
		}
	}
}
