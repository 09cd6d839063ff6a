// cert-manager's controller as a plain process for the real-engine tier.
//
// Upstream's controller main lives in the nested module cmd/controller (module path
// github.com/cert-manager/cert-manager/controller-binary, replace => ../../), which the Go module proxy cannot
// serve, and its configuration scheme (internal/apis/config/controller/v1alpha1) imports the Venafi issuer, whose
// module (github.com/Venafi/vcert/v5) the proxy refuses too. This runner therefore keeps its own settings: the
// flags upstream's options.AddConfigFlags defines that the chart (deploy/charts/cert-manager
// templates/deployment.yaml, v1.21.1) and its extraArgs pass, with upstream's defaults
// (internal/apis/config/controller/v1alpha1/defaults.go L60-142), and a --config file decoded strictly into the
// public v1alpha1 ControllerConfiguration (pkg/apis/config/controller/v1alpha1), of which it applies the fields
// listed in fromFile and refuses any other, so that a setting nobody modelled here fails loudly. It then does what
// app.Run does (cmd/controller/app/controller.go): one ContextFactory, the enabled controllers
// (options.EnabledControllers), the shared informer factories started after the constructors. No leader
// election, metrics or healthz servers: one process, on loopback.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	cliflag "k8s.io/component-base/cli/flag"
	"sigs.k8s.io/yaml"

	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/pkg/controller"
	shimgateway "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// settings: the part of upstream's ControllerConfiguration this runner applies, with upstream's defaults.
type settings struct {
	KubeConfig                 string
	QPS                        float32
	Burst                      int
	Namespace                  string
	ClusterResourceNamespace   string
	LeaderElect                bool
	LeaderElectionNamespace    string
	LeaseDuration              time.Duration
	RenewDeadline              time.Duration
	RetryPeriod                time.Duration
	Controllers                []string
	IssuerAmbientCredentials   bool
	ClusterIssuerAmbient       bool
	SolverImage                string
	SolverRuntimeClassName     string
	SolverExtraLabels          map[string]string
	SolverNameservers          []string
	AutoCertificateAnnotations []string
	DefaultIssuerName          string
	DefaultIssuerKind          string
	DefaultIssuerGroup         string
	Nameservers                []string
	NameserversOnly            bool
	CheckRetryPeriod           time.Duration
	EnableOwnerRef             bool
	GatewayAPI                 bool
	CopiedAnnotationPrefixes   []string
	FeatureGates               map[string]bool
	Workers                    int
	MaxConcurrentChallenges    int
	MetricsListenAddress       string
	MinimumBackoff             time.Duration
	MaximumBackoff             time.Duration
}

// defaults are upstream's (internal/apis/config/controller/v1alpha1/defaults.go, v1.21.1, L60-142 and
// SetDefaults_ControllerConfiguration).
func defaults() *settings {
	return &settings{
		QPS:                        20,
		Burst:                      50,
		ClusterResourceNamespace:   "kube-system",
		LeaderElect:                true,
		LeaderElectionNamespace:    "kube-system",
		LeaseDuration:              60 * time.Second,
		RenewDeadline:              40 * time.Second,
		RetryPeriod:                15 * time.Second,
		Controllers:                []string{"*"},
		ClusterIssuerAmbient:       true,
		SolverImage:                "quay.io/jetstack/cert-manager-acmesolver:" + util.AppVersion,
		AutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
		DefaultIssuerKind:          "Issuer",
		DefaultIssuerGroup:         "cert-manager.io",
		CheckRetryPeriod:           10 * time.Second,
		CopiedAnnotationPrefixes:   []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
		FeatureGates:               map[string]bool{},
		Workers:                    5,
		MaxConcurrentChallenges:    60,
		MetricsListenAddress:       "0.0.0.0:9402",
		MinimumBackoff:             time.Hour,
		MaximumBackoff:             32 * time.Hour,
	}
}

// addFlags: upstream's flag names (cmd/controller/app/options/options.go, v1.21.1) for the settings above.
func addFlags(fs *pflag.FlagSet, c *settings) {
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "kubeconfig of the API server")
	fs.Float32Var(&c.QPS, "kube-api-qps", c.QPS, "")
	fs.IntVar(&c.Burst, "kube-api-burst", c.Burst, "")
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", c.ClusterResourceNamespace, "where ClusterIssuers read Secrets")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "watch only this namespace")
	fs.BoolVar(&c.LeaderElect, "leader-elect", c.LeaderElect, "leader election (not run here)")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", c.LeaderElectionNamespace, "")
	fs.DurationVar(&c.LeaseDuration, "leader-election-lease-duration", c.LeaseDuration, "")
	fs.DurationVar(&c.RenewDeadline, "leader-election-renew-deadline", c.RenewDeadline, "")
	fs.DurationVar(&c.RetryPeriod, "leader-election-retry-period", c.RetryPeriod, "")
	fs.StringSliceVar(&c.Controllers, "controllers", c.Controllers, "controllers to run (*, -name)")
	fs.StringVar(&c.SolverImage, "acme-http01-solver-image", c.SolverImage, "")
	fs.StringVar(&c.SolverRuntimeClassName, "acme-http01-solver-runtime-class-name", c.SolverRuntimeClassName, "")
	fs.Var(cliflag.NewMapStringString(&c.SolverExtraLabels), "acme-http01-solver-extra-labels", "")
	fs.StringSliceVar(&c.SolverNameservers, "acme-http01-solver-nameservers", c.SolverNameservers, "")
	fs.BoolVar(&c.ClusterIssuerAmbient, "cluster-issuer-ambient-credentials", c.ClusterIssuerAmbient, "")
	fs.BoolVar(&c.IssuerAmbientCredentials, "issuer-ambient-credentials", c.IssuerAmbientCredentials, "")
	fs.StringSliceVar(&c.AutoCertificateAnnotations, "auto-certificate-annotations", c.AutoCertificateAnnotations, "")
	fs.StringVar(&c.DefaultIssuerName, "default-issuer-name", c.DefaultIssuerName, "")
	fs.StringVar(&c.DefaultIssuerKind, "default-issuer-kind", c.DefaultIssuerKind, "")
	fs.StringVar(&c.DefaultIssuerGroup, "default-issuer-group", c.DefaultIssuerGroup, "")
	fs.StringSliceVar(&c.Nameservers, "dns01-recursive-nameservers", c.Nameservers, "")
	fs.BoolVar(&c.NameserversOnly, "dns01-recursive-nameservers-only", c.NameserversOnly, "")
	fs.DurationVar(&c.CheckRetryPeriod, "dns01-check-retry-period", c.CheckRetryPeriod, "")
	fs.BoolVar(&c.EnableOwnerRef, "enable-certificate-owner-ref", c.EnableOwnerRef, "")
	fs.BoolVar(&c.GatewayAPI, "enable-gateway-api", c.GatewayAPI, "")
	fs.StringSliceVar(&c.CopiedAnnotationPrefixes, "copied-annotation-prefixes", c.CopiedAnnotationPrefixes, "")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "")
	fs.IntVar(&c.Workers, "concurrent-workers", c.Workers, "")
	fs.IntVar(&c.MaxConcurrentChallenges, "max-concurrent-challenges", c.MaxConcurrentChallenges, "")
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "metrics are not served here")
	fs.DurationVar(&c.MinimumBackoff, "certificate-request-minimum-backoff-duration", c.MinimumBackoff, "")
	fs.DurationVar(&c.MaximumBackoff, "certificate-request-maximum-backoff-duration", c.MaximumBackoff, "")
}

func parse(args []string, c *settings, configFile *string, verbosity *int) error {
	fs := pflag.NewFlagSet("cert-manager-controller", pflag.ContinueOnError)
	fs.StringVar(configFile, "config", "", "a ControllerConfiguration file")
	fs.IntVarP(verbosity, "v", "v", 0, "log verbosity")
	addFlags(fs, c)
	return fs.Parse(args)
}

// applied: the fields of a ControllerConfiguration file this runner applies (JSON paths).
var applied = map[string]bool{
	"apiVersion": true, "kind": true, "kubeConfig": true, "namespace": true, "clusterResourceNamespace": true,
	"controllers": true, "enableCertificateOwnerRef": true, "enableGatewayAPI": true, "gatewayAPI.enabled": true,
	"copiedAnnotationPrefixes": true, "numberOfConcurrentWorkers": true, "maxConcurrentChallenges": true,
	"featureGates": true, "acmeDNS01Config.recursiveNameservers": true, "acmeDNS01Config.recursiveNameserversOnly": true,
	"acmeDNS01Config.checkRetryPeriod": true, "ingressShimConfig.defaultIssuerName": true,
	"ingressShimConfig.defaultIssuerKind": true, "ingressShimConfig.defaultIssuerGroup": true,
	"ingressShimConfig.defaultAutoCertificateAnnotations": true,
}

func fieldPaths(prefix string, value any, out *[]string) {
	object, ok := value.(map[string]any)
	if !ok {
		*out = append(*out, prefix)
		return
	}
	for key, inner := range object {
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}
		if applied[path] {
			*out = append(*out, path)
			continue
		}
		fieldPaths(path, inner, out)
	}
}

// fromFile reads a ControllerConfiguration the way upstream's strict loader does (unknown fields are errors)
// and applies the fields in `applied`; a file setting any other field is refused.
func fromFile(path string, c *settings) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var file configv1alpha1.ControllerConfiguration
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return fmt.Errorf("failed to decode %s: %w", path, err)
	}
	if file.APIVersion != "controller.config.cert-manager.io/v1alpha1" || file.Kind != "ControllerConfiguration" {
		return fmt.Errorf("%s: not a controller.config.cert-manager.io/v1alpha1 ControllerConfiguration", path)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return err
	}
	var paths []string
	fieldPaths("", raw, &paths)
	var refused []string
	for _, p := range paths {
		if !applied[p] {
			refused = append(refused, p)
		}
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		return fmt.Errorf("%s sets %s, which this runner does not apply", path, strings.Join(refused, ", "))
	}
	setString(&c.KubeConfig, file.KubeConfig)
	setString(&c.Namespace, file.Namespace)
	setString(&c.ClusterResourceNamespace, file.ClusterResourceNamespace)
	if len(file.Controllers) > 0 {
		c.Controllers = file.Controllers
	}
	setBool(&c.EnableOwnerRef, file.EnableCertificateOwnerRef)
	setBool(&c.GatewayAPI, file.EnableGatewayAPI) //nolint:staticcheck // the deprecated field, as upstream's defaulting
	setBool(&c.GatewayAPI, file.GatewayAPIConfig.Enabled)
	if len(file.CopiedAnnotationPrefixes) > 0 {
		c.CopiedAnnotationPrefixes = file.CopiedAnnotationPrefixes
	}
	if file.NumberOfConcurrentWorkers != nil {
		c.Workers = int(*file.NumberOfConcurrentWorkers)
	}
	if file.MaxConcurrentChallenges != nil {
		c.MaxConcurrentChallenges = int(*file.MaxConcurrentChallenges)
	}
	for gate, on := range file.FeatureGates {
		c.FeatureGates[gate] = on
	}
	if len(file.ACMEDNS01Config.RecursiveNameservers) > 0 {
		c.Nameservers = file.ACMEDNS01Config.RecursiveNameservers
	}
	setBool(&c.NameserversOnly, file.ACMEDNS01Config.RecursiveNameserversOnly)
	if file.ACMEDNS01Config.CheckRetryPeriod != nil {
		c.CheckRetryPeriod = file.ACMEDNS01Config.CheckRetryPeriod.Duration.Duration
	}
	setString(&c.DefaultIssuerName, file.IngressShimConfig.DefaultIssuerName)
	setString(&c.DefaultIssuerKind, file.IngressShimConfig.DefaultIssuerKind)
	setString(&c.DefaultIssuerGroup, file.IngressShimConfig.DefaultIssuerGroup)
	if len(file.IngressShimConfig.DefaultAutoCertificateAnnotations) > 0 {
		c.AutoCertificateAnnotations = file.IngressShimConfig.DefaultAutoCertificateAnnotations
	}
	return nil
}

func setString(into *string, value string) {
	if value != "" {
		*into = value
	}
}

func setBool(into *bool, value *bool) {
	if value != nil {
		*into = *value
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf.InitLogs()
	defer logf.FlushLogs()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-controller: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	log := logf.FromContext(ctx)
	cfg := defaults()
	var configFile string
	var verbosity int
	if err := parse(args, cfg, &configFile, &verbosity); err != nil {
		return err
	}
	if configFile != "" {
		// As upstream's loadConfigFromFile (cmd/controller/app/start.go): the file, then the flags again.
		if err := fromFile(configFile, cfg); err != nil {
			return err
		}
		if err := parse(args, cfg, &configFile, &verbosity); err != nil {
			return err
		}
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
		return fmt.Errorf("feature gates: %w", err)
	}
	if cfg.MaxConcurrentChallenges < 1 || cfg.Workers < 1 {
		return fmt.Errorf("--max-concurrent-challenges and --concurrent-workers must be at least 1")
	}
	factory, err := contextFactory(ctx, cfg)
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}
	enabled := enabledControllers(cfg)
	known := controller.Known()
	var missing []string
	for _, name := range sets.List(enabled) {
		if _, ok := known[name]; !ok {
			missing = append(missing, name)
		}
	}
	log.Info("enabled controllers", "controllers", strings.Join(sets.List(enabled), ","),
		"not built into this runner", strings.Join(missing, ","))

	done := make(chan error)
	running := 0
	for name, constructor := range known {
		if !enabled.Has(name) {
			continue
		}
		iface, err := constructor(factory)
		if err != nil {
			return fmt.Errorf("starting controller %s: %w", name, err)
		}
		log.Info("starting controller", "controller", name)
		running++
		go func() { done <- iface.Run(cfg.Workers, ctx) }()
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if cfg.GatewayAPI {
		base.GWShared.Start(ctx.Done())
	}
	for ; running > 0; running-- {
		if err := <-done; err != nil {
			return fmt.Errorf("controller exited: %w", err)
		}
	}
	return nil
}

// contextFactory is upstream's buildControllerContextFactory (cmd/controller/app/controller.go, v1.21.1).
func contextFactory(ctx context.Context, opts *settings) (*controller.ContextFactory, error) {
	// Upstream falls back to the pod's resolv.conf (dnsutil.RecursiveNameservers); a process here would read the
	// machine's, which are not on loopback, so without --dns01-recursive-nameservers no DNS-01 check can run.
	nameservers := opts.Nameservers
	return controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         opts.KubeConfig,
		KubernetesAPIQPS:   opts.QPS,
		KubernetesAPIBurst: opts.Burst,
		Namespace:          opts.Namespace,
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			HTTP01SolverImage:                 opts.SolverImage,
			HTTP01SolverNameservers:           opts.SolverNameservers,
			HTTP01SolverExtraLabels:           opts.SolverExtraLabels,
			HTTP01SolverRuntimeClassName:      opts.SolverRuntimeClassName,
			DNS01Nameservers:                  nameservers,
			DNS01CheckRetryPeriod:             opts.CheckRetryPeriod,
			DNS01CheckAuthoritative:           !opts.NameserversOnly,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: opts.MaxConcurrentChallenges},
		IssuerOptions: controller.IssuerOptions{
			ClusterIssuerAmbientCredentials: opts.ClusterIssuerAmbient,
			IssuerAmbientCredentials:        opts.IssuerAmbientCredentials,
			ClusterResourceNamespace:        opts.ClusterResourceNamespace,
		},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerName:                 opts.DefaultIssuerName,
			DefaultIssuerKind:                 opts.DefaultIssuerKind,
			DefaultIssuerGroup:                opts.DefaultIssuerGroup,
			DefaultAutoCertificateAnnotations: opts.AutoCertificateAnnotations,
			GatewayAPIExtraProtocols:          sets.New[string](),
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           opts.EnableOwnerRef,
			CopiedAnnotationPrefixes:                 opts.CopiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: opts.MinimumBackoff,
			CertificateRequestMaximumBackoffDuration: opts.MaximumBackoff,
		},
		ConfigOptions: controller.ConfigOptions{EnableGatewayAPI: opts.GatewayAPI},
	})
}

// enabledControllers is upstream's options.EnabledControllers (cmd/controller/app/options/options.go, v1.21.1)
// over the controllers this runner registers ("*" is DefaultEnabledControllers: every registered one but the
// gateway shim); the experimental CertificateSigningRequest and ListenerSet controllers are not built here.
func enabledControllers(o *settings) sets.Set[string] {
	all := sets.New[string]()
	for name := range controller.Known() {
		if name != shimgateway.ControllerName {
			all.Insert(name)
		}
	}
	var disabled []string
	enabled := sets.New[string]()
	for _, name := range o.Controllers {
		switch {
		case name == "*":
			enabled = enabled.Union(all)
		case strings.HasPrefix(name, "-"):
			disabled = append(disabled, strings.TrimPrefix(name, "-"))
		default:
			enabled.Insert(name)
		}
	}
	if len(disabled) > 0 && enabled.Len() == 0 {
		enabled = enabled.Union(all)
	}
	// ExperimentalGatewayAPISupport is on by default in v1.21 (internal/controller/feature/features.go L225).
	gate := true
	if on, set := o.FeatureGates["ExperimentalGatewayAPISupport"]; set {
		gate = on
	}
	if gate && o.GatewayAPI {
		enabled.Insert(shimgateway.ControllerName)
	}
	if o.Namespace != "" {
		enabled.Delete("clusterissuers")
	}
	return enabled.Delete(disabled...)
}
