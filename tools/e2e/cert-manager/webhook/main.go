// cert-manager's webhook as a plain process for the real-engine tier.
//
// Upstream's webhook main is the nested module cmd/webhook (webhook-binary, replace => ../../), which the Go module
// proxy cannot serve. Its app (cmd/webhook/app/webhook.go, v1.21.1) is small and almost all public: the flags and
// configuration of pkg/webhook/options, the strict config file loader of pkg/webhook/configfile, upstream's
// validation, and internal/webhook.NewCertManagerWebhookServer, which builds the admission chain (identity,
// approval, resource validation), the scheme and the certificate source. This runner calls exactly those; the one
// difference is where it listens: pkg/webhook/server.Server.Run binds every interface (webhook.Options without
// Host, server.go L158), so this runner serves the same handlers on --listen-host (loopback) instead.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	ciphers "k8s.io/component-base/cli/flag"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	config "github.com/cert-manager/cert-manager/internal/apis/config/webhook"
	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util/configfile"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	cmadmission "github.com/cert-manager/cert-manager/pkg/webhook/admission"
	webhookconfigfile "github.com/cert-manager/cert-manager/pkg/webhook/configfile"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"
	"github.com/cert-manager/cert-manager/pkg/webhook/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf.InitLogs()
	defer logf.FlushLogs()
	ctx = logf.NewContext(ctx, logf.Log, "webhook")
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-webhook: %v\n", err)
		os.Exit(1)
	}
}

func parse(args []string, flags *options.WebhookFlags, cfg *config.WebhookConfiguration, host *string) error {
	fs := pflag.NewFlagSet("cert-manager-webhook", pflag.ContinueOnError)
	flags.AddFlags(fs)
	options.AddConfigFlags(fs, cfg)
	fs.StringVar(host, "listen-host", "127.0.0.1", "the address to serve on (this runner's own flag)")
	return fs.Parse(args)
}

func run(ctx context.Context, args []string) error {
	log := logf.FromContext(ctx)
	flags := options.NewWebhookFlags()
	cfg, err := options.NewWebhookConfiguration()
	if err != nil {
		return err
	}
	var host string
	if err := parse(args, flags, cfg, &host); err != nil {
		return err
	}
	if flags.Config != "" {
		// As upstream's loadConfigFromFile (cmd/webhook/app/webhook.go): the file, then the flags again.
		path, err := filepath.Abs(flags.Config)
		if err != nil {
			return err
		}
		loader, err := configfile.NewConfigurationFSLoader(nil, path)
		if err != nil {
			return fmt.Errorf("failed to load config file %s: %w", path, err)
		}
		fromFile := webhookconfigfile.New()
		if err := loader.Load(fromFile); err != nil {
			return fmt.Errorf("failed to load config file %s: %w", path, err)
		}
		fromFile.Config.DeepCopyInto(cfg)
		if err := parse(args, flags, cfg, &host); err != nil {
			return err
		}
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
		return fmt.Errorf("feature gates: %w", err)
	}
	if errs := validation.ValidateWebhookConfiguration(cfg, nil); len(errs) > 0 {
		return fmt.Errorf("error validating flags: %w", errs.ToAggregate())
	}
	if err := logf.ValidateAndApply(&cfg.Logging); err != nil {
		return err
	}
	srv, err := cmwebhook.NewCertManagerWebhookServer(log, *cfg)
	if err != nil {
		return err
	}
	return serve(ctx, srv, host)
}

// serve is server.Server.Run (pkg/webhook/server/server.go, v1.21.1) on one host, without the healthz, pprof
// and client-verification listeners the chart does not switch on here.
func serve(ctx context.Context, s *server.Server, host string) error {
	if s.CertificateSource == nil {
		return fmt.Errorf("no CertificateSource specified")
	}
	if s.EnableClientVerification {
		return fmt.Errorf("--enable-client-verification is not supported by this runner")
	}
	cipherSuites, err := ciphers.TLSCipherSuites(s.CipherSuites)
	if err != nil {
		return err
	}
	minVersion, err := ciphers.TLSVersion(s.MinTLSVersion)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(&rest.Config{}, ctrl.Options{
		Scheme:         s.ResourceScheme,
		Logger:         logf.FromContext(ctx),
		LeaderElection: false,
		Metrics:        metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: host,
			Port: s.ListenAddr,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) {
				c.CipherSuites = cipherSuites
				c.MinVersion = minVersion
				c.GetCertificate = s.CertificateSource.GetCertificate
			}},
		}),
	})
	if err != nil {
		return fmt.Errorf("error creating manager: %w", err)
	}
	if err := mgr.Add(s.CertificateSource); err != nil {
		return err
	}
	mgr.GetWebhookServer().Register("/mutate", cmadmission.NewCustomMutationWebhook(s.MutationWebhook))
	mgr.GetWebhookServer().Register("/validate", cmadmission.NewCustomValidationWebhook(mgr.GetScheme(), s.ValidationWebhook))
	return mgr.Start(ctx)
}
