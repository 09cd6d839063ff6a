// Let's Encrypt's own policy as a judge for the preflight rules D8 and LE3 (issue 29): Boulder's policy package,
// at the release pinned in go.mod, answers what its WFE answers for a new order's identifiers (lower-cased by
// identifier.Normalize, then policy.WellFormedIdentifiers; wfe2/wfe.go NewOrder) and for an account's contact
// (policy.ValidEmail). Its blocklists are not public and not judged.
//
// One JSON request per line on stdin: {"dns": "name"}, {"ip": "address"}, {"certificateIP": "text"} or
// {"email": "address"}; one answer per line on stdout: {"refused": "Boulder's detail"}, empty where it accepts.
// A certificateIP is a Certificate's spec.ipAddresses entry, sent as cert-manager v1.21.1 sends it: parsed by
// net.ParseIP (pkg/util/pki IPAddressesFromStrings), written into the CSR by crypto/x509 (an IPv4 address in 4
// bytes) and put in the order as net.IP.String() (pkg/controller/certificaterequests/acme/acme.go buildOrder);
// text net.ParseIP refuses is answered {"unparsed": true} (cert-manager's webhook refuses it first).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/letsencrypt/boulder/identifier"
	"github.com/letsencrypt/boulder/policy"
)

type request struct {
	DNS           *string `json:"dns"`
	IP            *string `json:"ip"`
	CertificateIP *string `json:"certificateIP"`
	Email         *string `json:"email"`
}

var errUnparsed = errors.New("net.ParseIP refuses it")

func judge(req request) error {
	switch {
	case req.DNS != nil:
		return policy.WellFormedIdentifiers(identifier.Normalize(identifier.ACMEIdentifiers{identifier.NewDNS(*req.DNS)}))
	case req.IP != nil:
		ident := identifier.ACMEIdentifier{Type: identifier.TypeIP, Value: *req.IP}
		return policy.WellFormedIdentifiers(identifier.Normalize(identifier.ACMEIdentifiers{ident}))
	case req.CertificateIP != nil:
		ip := net.ParseIP(*req.CertificateIP)
		if ip == nil {
			return errUnparsed
		}
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		ident := identifier.ACMEIdentifier{Type: identifier.TypeIP, Value: ip.String()}
		return policy.WellFormedIdentifiers(identifier.Normalize(identifier.ACMEIdentifiers{ident}))
	case req.Email != nil:
		return policy.ValidEmail(*req.Email)
	}
	return fmt.Errorf("a request names dns, ip or email")
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "boulder-judge:", err)
			os.Exit(2)
		}
		answer := map[string]any{"refused": ""}
		if err := judge(req); errors.Is(err, errUnparsed) {
			answer["unparsed"] = true
		} else if err != nil {
			answer["refused"] = err.Error()
		}
		if err := out.Encode(answer); err != nil {
			os.Exit(1)
		}
	}
}
