// cert-manager's cainjector as a plain process for the real-engine tier.
//
// Upstream's main is the nested module cmd/cainjector (not served by the module proxy). This runner does what its
// app does (cmd/cainjector/app/controller.go Run, v1.21.1): upstream's configuration type defaulted by its
// v1alpha1 scheme, --config through pkg/cainjector/configfile, validation, then a controller-runtime manager
// with the same scheme and cache options and pkg/controller/cainjector.RegisterAllInjectors, which injects the CA
// of a Secret or Certificate into the webhook configurations and APIServices that name it. The flags are the ones
// the chart renders (templates/cainjector-deployment.yaml); leader election and metrics are not run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	config "github.com/cert-manager/cert-manager/internal/apis/config/cainjector"
	"github.com/cert-manager/cert-manager/internal/apis/config/cainjector/scheme"
	"github.com/cert-manager/cert-manager/internal/apis/config/cainjector/validation"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/cainjector/v1alpha1"
	cainjectorconfigfile "github.com/cert-manager/cert-manager/pkg/cainjector/configfile"
	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	"github.com/cert-manager/cert-manager/pkg/util/configfile"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf.InitLogs()
	defer logf.FlushLogs()
	ctx = logf.NewContext(ctx, logf.Log, "cainjector")
	ctrl.SetLogger(logf.Log)
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-cainjector: %v\n", err)
		os.Exit(1)
	}
}

func newConfiguration() (*config.CAInjectorConfiguration, error) {
	s, _, err := scheme.NewSchemeAndCodecs()
	if err != nil {
		return nil, err
	}
	versioned := &configv1alpha1.CAInjectorConfiguration{}
	s.Default(versioned)
	cfg := &config.CAInjectorConfiguration{}
	return cfg, s.Convert(versioned, cfg, nil)
}

func parse(args []string, c *config.CAInjectorConfiguration, configFile *string) error {
	fs := pflag.NewFlagSet("cert-manager-cainjector", pflag.ContinueOnError)
	fs.StringVar(configFile, "config", "", "a CAInjectorConfiguration file")
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "kubeconfig of the API server")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "")
	fs.StringSliceVar(&c.IgnoreNamespaces, "ignore-namespaces", c.IgnoreNamespaces, "")
	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "leader election (not run here)")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "")
	fs.BoolVar(&c.EnableDataSourceConfig.Certificates, "enable-certificates-data-source", c.EnableDataSourceConfig.Certificates, "")
	fs.BoolVar(&c.EnableInjectableConfig.ValidatingWebhookConfigurations, "enable-validatingwebhookconfigurations-injectable", c.EnableInjectableConfig.ValidatingWebhookConfigurations, "")
	fs.BoolVar(&c.EnableInjectableConfig.MutatingWebhookConfigurations, "enable-mutatingwebhookconfigurations-injectable", c.EnableInjectableConfig.MutatingWebhookConfigurations, "")
	fs.BoolVar(&c.EnableInjectableConfig.CustomResourceDefinitions, "enable-customresourcedefinitions-injectable", c.EnableInjectableConfig.CustomResourceDefinitions, "")
	fs.BoolVar(&c.EnableInjectableConfig.APIServices, "enable-apiservices-injectable", c.EnableInjectableConfig.APIServices, "")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "")
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "metrics are not served here")
	logf.AddFlags(&c.Logging, fs)
	return fs.Parse(args)
}

func run(ctx context.Context, args []string) error {
	cfg, err := newConfiguration()
	if err != nil {
		return err
	}
	var configFile string
	if err := parse(args, cfg, &configFile); err != nil {
		return err
	}
	if configFile != "" {
		loader, err := configfile.NewConfigurationFSLoader(nil, configFile)
		if err != nil {
			return fmt.Errorf("failed to load config file %s: %w", configFile, err)
		}
		fromFile := cainjectorconfigfile.New()
		if err := loader.Load(fromFile); err != nil {
			return fmt.Errorf("failed to load config file %s: %w", configFile, err)
		}
		fromFile.Config.DeepCopyInto(cfg)
		if err := parse(args, cfg, &configFile); err != nil {
			return err
		}
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
		return fmt.Errorf("feature gates: %w", err)
	}
	if errs := validation.ValidateCAInjectorConfiguration(cfg, nil); len(errs) > 0 {
		return fmt.Errorf("error validating flags: %w", errs.ToAggregate())
	}
	if err := logf.ValidateAndApply(&cfg.Logging); err != nil {
		return err
	}

	restConfig, err := clientcmd.BuildConfigFromFlags("", cfg.KubeConfig)
	if err != nil {
		return err
	}
	restConfig = util.RestConfigWithUserAgent(restConfig, "cainjector")
	var namespaces map[string]cache.Config
	if cfg.Namespace != "" {
		namespaces = map[string]cache.Config{cfg.Namespace: {}}
	}
	s := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(s))
	utilruntime.Must(cmscheme.AddToScheme(s))
	utilruntime.Must(apiext.AddToScheme(s))
	utilruntime.Must(apireg.AddToScheme(s))
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme: s,
		Cache:  cache.Options{ReaderFailOnMissingInformer: true, DefaultNamespaces: namespaces},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// One process: no leader election, and no metrics listener.
		LeaderElection: false,
		Metrics:        metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("error creating manager: %w", err)
	}
	if cfg.EnableDataSourceConfig.Certificates {
		// As upstream: the Certificate data source needs its CRD, which the chart may still be creating.
		direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
		if err != nil {
			return err
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			crd := apiext.CustomResourceDefinition{}
			err := direct.Get(ctx, types.NamespacedName{Name: "certificates.cert-manager.io"}, &crd)
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			return fmt.Errorf("waiting for the certificates.cert-manager.io CRD: %w", err)
		}
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    cfg.Namespace,
		IgnoreNamespaces:             cfg.IgnoreNamespaces,
		EnableCertificatesDataSource: cfg.EnableDataSourceConfig.Certificates,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   cfg.EnableInjectableConfig.MutatingWebhookConfigurations,
			cainjector.ValidatingWebhookConfigurationName: cfg.EnableInjectableConfig.ValidatingWebhookConfigurations,
			cainjector.APIServiceName:                     cfg.EnableInjectableConfig.APIServices,
			cainjector.CustomResourceDefinitionName:       cfg.EnableInjectableConfig.CustomResourceDefinitions,
		},
	})
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}
