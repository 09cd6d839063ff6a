// A test-only stand-in for the DNSPod DNS-01 path: imroc's cert-manager-webhook-dnspod and the DNSPod service
// behind it, on loopback. Neither imroc's webhook nor the Tencent Cloud SDK it calls is served by the Go module
// proxy, so this program takes their place in the real-engine tier, and stands in for Tencent's API alone:
//
//   - It is a cert-manager DNS-01 webhook solver built with cert-manager's public framework
//     (pkg/acme/webhook/cmd.RunWebhookServer), started as imroc's main.go starts its own: the group name from the
//     GROUP_NAME environment variable, the solver name "dnspod" (imroc/cert-manager-webhook-dnspod v1.5.3,
//     main.go L15-26, dnspod/solver.go L36-38). cert-manager reaches it through the APIService the chart creates.
//   - It decodes the solver config imroc's dnspod/config.go (v1.5.3, L15-45) decodes - ttl, recordLine,
//     secretIdRef and secretKeyRef, each reference needing a name and a key - but strictly: any other key is an
//     error here (imroc ignores it), so a config in another shape (v1.3's inline `secretId`) fails the test.
//   - It reads both credentials from the Secret in the challenge's resource namespace, as imroc's
//     dnspod/client.go (L16-63) does, and refuses them unless they are the DNSPod account's (the environment
//     variables below), as Tencent's API would; a missing Secret or key fails as imroc's does.
//   - Where imroc calls CreateRecord / DescribeRecordList / DeleteRecord (dnspod/record.go), it adds the TXT
//     record to, or deletes every TXT record of that name from (imroc deletes all matching names), the zone this
//     process serves as DNSPod's authoritative nameserver: the server the ACME server (pebble) and cert-manager's
//     self-check ask.
//
// Settings of the stand-in itself (the solver framework owns the command line):
//
//	DNSPOD_STANDIN_DNS         host:port of the authoritative DNS server (loopback)
//	DNSPOD_STANDIN_ZONES       comma-separated domains of the DNSPod account
//	DNSPOD_STANDIN_SECRET_ID   the account's SecretId
//	DNSPOD_STANDIN_SECRET_KEY  the account's SecretKey
//	DNSPOD_STANDIN_UNSERVED    optional, comma-separated names: TXT records under them are created in the account
//	                           but never answered, as when DNSPod's zone is not the one the resolvers see
//	                           (split-horizon DNS, a delegation elsewhere: seed 002's failure)
package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"github.com/cert-manager/cert-manager/pkg/acme/webhook/cmd"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

// config is imroc's Config (dnspod/config.go L15-20), decoded strictly.
type config struct {
	TTL          *uint64                  `json:"ttl"`
	RecordLine   string                   `json:"recordLine"`
	SecretIDRef  cmmeta.SecretKeySelector `json:"secretIdRef"`
	SecretKeyRef cmmeta.SecretKeySelector `json:"secretKeyRef"`
}

type record struct {
	value string
	ttl   uint64
	line  string
}

type solver struct {
	client    kubernetes.Interface
	zones     []string
	unserved  []string // lower-case FQDNs whose TXT records (and those under them) are never answered
	secretID  string
	secretKey string

	mu      sync.Mutex
	records map[string][]record // lower-case FQDN -> TXT records
}

func (s *solver) Name() string { return "dnspod" }

func (s *solver) Initialize(restConfig *rest.Config, _ <-chan struct{}) error {
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	s.client = client
	return nil
}

func loadConfig(raw []byte) (*config, error) {
	ttl := uint64(600) // imroc's defaultTTL
	cfg := &config{TTL: &ttl}
	if raw == nil {
		return nil, fmt.Errorf("invalid secretIdRef: no config: secretIdRef and secretKeyRef are required")
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(cfg); err != nil {
		return nil, fmt.Errorf("error decoding solver config (imroc's webhook v1.5 reads ttl, recordLine, secretIdRef, secretKeyRef): %w", err)
	}
	for name, ref := range map[string]cmmeta.SecretKeySelector{"secretIdRef": cfg.SecretIDRef, "secretKeyRef": cfg.SecretKeyRef} {
		if ref.Name == "" {
			return nil, fmt.Errorf("invalid %s: secret name is required", name)
		}
		if ref.Key == "" {
			return nil, fmt.Errorf("invalid %s: secret key is required", name)
		}
	}
	return cfg, nil
}

func (s *solver) secretData(namespace string, ref cmmeta.SecretKeySelector) (string, error) {
	secret, err := s.client.CoreV1().Secrets(namespace).Get(context.TODO(), ref.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	data, ok := secret.Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("no data found for %q in secret '%s/%s'", ref.Key, namespace, ref.Name)
	}
	return string(data), nil
}

// authorize is what Tencent's API does with the request's signature: only the account's credentials pass.
func (s *solver) authorize(ch *v1alpha1.ChallengeRequest) (*config, error) {
	var raw []byte
	if ch.Config != nil {
		raw = ch.Config.Raw
	}
	cfg, err := loadConfig(raw)
	if err != nil {
		return nil, err
	}
	id, err := s.secretData(ch.ResourceNamespace, cfg.SecretIDRef)
	if err != nil {
		return nil, fmt.Errorf("failed to load secret id from secret: %w", err)
	}
	key, err := s.secretData(ch.ResourceNamespace, cfg.SecretKeyRef)
	if err != nil {
		return nil, fmt.Errorf("failed to load secret key from secret: %w", err)
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.secretID)) == 1
	keyOK := subtle.ConstantTimeCompare([]byte(key), []byte(s.secretKey)) == 1
	if !idOK || !keyOK {
		return nil, fmt.Errorf("[TencentCloudSDKError] Code=AuthFailure.SignatureFailure, Message=The provided credentials could not be validated")
	}
	return cfg, nil
}

func (s *solver) zone(ch *v1alpha1.ChallengeRequest) (string, error) {
	zone := strings.ToLower(strings.TrimSuffix(ch.ResolvedZone, "."))
	for _, z := range s.zones {
		if z == zone {
			return zone, nil
		}
	}
	return "", fmt.Errorf("[TencentCloudSDKError] Code=InvalidParameter.DomainNotExists, Message=the domain %q is not in this DNSPod account", zone)
}

func (s *solver) Present(ch *v1alpha1.ChallengeRequest) error {
	cfg, err := s.authorize(ch)
	if err != nil {
		return err
	}
	zone, err := s.zone(ch)
	if err != nil {
		return err
	}
	line := cfg.RecordLine
	if line == "" {
		line = "默认" // imroc's dnspod/record.go createTxtRecord
	}
	name := strings.ToLower(ch.ResolvedFQDN)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records[name] {
		if r.value == ch.Key {
			return nil // Present must tolerate being called again (pkg/acme/webhook Solver)
		}
	}
	s.records[name] = append(s.records[name], record{value: ch.Key, ttl: *cfg.TTL, line: line})
	log.Printf("CreateRecord zone=%s name=%s type=TXT ttl=%d line=%s", zone, name, *cfg.TTL, line)
	return nil
}

func (s *solver) CleanUp(ch *v1alpha1.ChallengeRequest) error {
	if _, err := s.authorize(ch); err != nil {
		return err
	}
	zone, err := s.zone(ch)
	if err != nil {
		return err
	}
	name := strings.ToLower(ch.ResolvedFQDN)
	s.mu.Lock()
	defer s.mu.Unlock()
	log.Printf("DeleteRecord zone=%s name=%s type=TXT count=%d", zone, name, len(s.records[name]))
	delete(s.records, name)
	return nil
}

// ServeDNS answers as the authoritative nameserver of the account's zones.
func (s *solver) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	for _, q := range r.Question {
		name := strings.ToLower(q.Name)
		zone := s.zoneOf(name)
		if zone == "" {
			m.Authoritative = false
			m.SetRcode(r, dns.RcodeRefused)
			continue
		}
		soa := &dns.SOA{
			Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
			Ns:  "ns1.dnspod-standin.invalid.", Mbox: "hostmaster.dnspod-standin.invalid.",
			Serial: 1, Refresh: 60, Retry: 60, Expire: 600, Minttl: 5,
		}
		switch {
		case q.Qtype == dns.TypeSOA && name == zone:
			m.Answer = append(m.Answer, soa)
		case q.Qtype == dns.TypeNS && name == zone:
			m.Answer = append(m.Answer, &dns.NS{
				Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 60},
				Ns:  "ns1.dnspod-standin.invalid.",
			})
		case q.Qtype == dns.TypeTXT && s.isUnserved(name):
			// created in the account, not visible to this resolver: NOERROR with no data below
		case q.Qtype == dns.TypeTXT:
			s.mu.Lock()
			records := append([]record(nil), s.records[name]...)
			s.mu.Unlock()
			for _, rec := range records {
				m.Answer = append(m.Answer, &dns.TXT{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: uint32(rec.ttl)},
					Txt: []string{rec.value},
				})
			}
		}
		if len(m.Answer) == 0 {
			// The zone's SOA in the authority section: NOERROR (no data) for a name that exists, NXDOMAIN for
			// one that does not (RFC 2308), which is what cert-manager's zone search climbs on (FindZoneByFqdn).
			m.Ns = append(m.Ns, soa)
			s.mu.Lock()
			_, exists := s.records[name]
			s.mu.Unlock()
			if name != zone && !exists {
				m.Rcode = dns.RcodeNameError
			}
		}
	}
	_ = w.WriteMsg(m)
}

func (s *solver) isUnserved(name string) bool {
	for _, u := range s.unserved {
		if name == u || strings.HasSuffix(name, "."+u) {
			return true
		}
	}
	return false
}

func (s *solver) zoneOf(name string) string {
	best := ""
	for _, z := range s.zones {
		fqdn := z + "."
		if (name == fqdn || strings.HasSuffix(name, "."+fqdn)) && len(fqdn) > len(best) {
			best = fqdn
		}
	}
	return best
}

func main() {
	group := os.Getenv("GROUP_NAME")
	if group == "" {
		panic("GROUP_NAME must be specified") // as imroc's main.go
	}
	address := os.Getenv("DNSPOD_STANDIN_DNS")
	zones := strings.Split(strings.ToLower(os.Getenv("DNSPOD_STANDIN_ZONES")), ",")
	sort.Strings(zones)
	s := &solver{
		zones:     zones,
		secretID:  os.Getenv("DNSPOD_STANDIN_SECRET_ID"),
		secretKey: os.Getenv("DNSPOD_STANDIN_SECRET_KEY"),
		records:   map[string][]record{},
	}
	for _, name := range strings.Split(strings.ToLower(os.Getenv("DNSPOD_STANDIN_UNSERVED")), ",") {
		if name != "" {
			s.unserved = append(s.unserved, strings.TrimSuffix(name, ".")+".")
		}
	}
	if address == "" || zones[0] == "" || s.secretID == "" || s.secretKey == "" {
		fmt.Fprintln(os.Stderr, "DNSPOD_STANDIN_DNS, DNSPOD_STANDIN_ZONES, DNSPOD_STANDIN_SECRET_ID and DNSPOD_STANDIN_SECRET_KEY must be set")
		os.Exit(2)
	}
	for _, network := range []string{"udp", "tcp"} {
		server := &dns.Server{Addr: address, Net: network, Handler: s}
		go func() {
			if err := server.ListenAndServe(); err != nil {
				log.Fatalf("DNS server on %s/%s: %v", address, network, err)
			}
		}()
	}
	cmd.RunWebhookServer(group, s)
}
