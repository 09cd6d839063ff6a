// cert-manager's controller as a plain process for the real-engine tier.
//
// Upstream's controller main lives in the nested module cmd/controller (module path
// github.com/cert-manager/cert-manager/controller-binary, replace => ../../), which the Go module proxy cannot
// serve. This runner does what its app.Run does (cmd/controller/app/controller.go, v1.21.1, L68-289) with the
// root module's public packages: the controllers of DefaultEnabledControllers that a cluster without pods can
// run (internal/apis/config/controller/v1alpha1/defaults.go L144-163; no vault/venafi, no metrics collector),
// each built from one ContextFactory, then the shared informer factories started after the constructors.
// No leader election, metrics or healthz servers: one process, on loopback.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"

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

// The name under which certificate-shim/gateways registers (pkg/controller/certificate-shim/gateways).
const gatewayShim = "gateway-shim"

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server")
	crn := flag.String("cluster-resource-namespace", "cert-manager", "where ClusterIssuers read Secrets")
	nameservers := flag.String("dns01-recursive-nameservers", "", "comma-separated host:port resolvers for the DNS-01 self-check")
	nameserversOnly := flag.Bool("dns01-recursive-nameservers-only", false, "use only those resolvers")
	gatewayAPI := flag.Bool("enable-gateway-api", false, "run the Gateway API certificate shim (needs the Gateway API CRDs)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf.InitLogs()
	defer logf.FlushLogs()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	log := logf.FromContext(ctx)

	var dns01 []string
	if *nameservers != "" {
		dns01 = strings.Split(*nameservers, ",")
	}
	// Upstream defaults (defaults.go): QPS 20, burst 50, 60 concurrent challenges, backoff 1h-32h, DNS-01 check
	// every 10s, HTTP-01 solver resources 10m/64Mi requests and 100m/64Mi limits.
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: *crn},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			DNS01Nameservers:                  dns01,
			DNS01CheckRetryPeriod:             10 * time.Second,
			DNS01CheckAuthoritative:           !*nameserversOnly,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
			GatewayAPIExtraProtocols:          sets.New[string](),
		},
		CertificateOptions: controller.CertificateOptions{
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		ConfigOptions: controller.ConfigOptions{EnableGatewayAPI: *gatewayAPI},
	})
	if err != nil {
		log.Error(err, "building the controller context")
		os.Exit(1)
	}
	base, err := factory.Build()
	if err != nil {
		log.Error(err, "building the controller context")
		os.Exit(1)
	}

	done := make(chan error)
	running := 0
	for name, constructor := range controller.Known() {
		if name == gatewayShim && !*gatewayAPI {
			continue
		}
		iface, err := constructor(factory)
		if err != nil {
			log.Error(err, "starting controller", "controller", name)
			os.Exit(1)
		}
		log.Info("starting controller", "controller", name)
		running++
		go func() { done <- iface.Run(5, ctx) }()
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if *gatewayAPI {
		base.GWShared.Start(ctx.Done())
	}
	for ; running > 0; running-- {
		if err := <-done; err != nil {
			log.Error(err, "controller exited")
			stop()
		}
	}
}
