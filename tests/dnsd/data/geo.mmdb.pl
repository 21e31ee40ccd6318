# Writes tests/dnsd/data/geo.mmdb, the database of tests/dnsd/geo_test.cc and the geo
# cases of responder_test.cc: perl tests/dnsd/data/geo.mmdb.pl tests/dnsd/data/geo.mmdb
# (Debian: libmaxmind-db-writer-perl). Networks in the documentation ranges and 127/8.
use strict; use warnings;
use MaxMind::DB::Writer::Tree;
my %types = (country => 'map', iso_code => 'utf8_string', continent => 'map', code => 'utf8_string', location => 'map', latitude => 'double', longitude => 'double');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28, database_type => 'GeoLite2-City', languages => ['en'], description => {en => 'test'}, map_key_type_callback => sub { $types{$_[0]} }, remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1);
sub put { my ($net, $cc, $cont, $lat, $lon) = @_; my %d = (country => {iso_code => $cc}, continent => {code => $cont}); $d{location} = {latitude => $lat, longitude => $lon} if defined $lat; $tree->insert_network($net, \%d); }
put('192.0.2.0/24', 'DE', 'EU', 50.11, 8.68);
put('198.51.100.0/24', 'US', 'NA', 37.77, -122.42);
put('203.0.113.0/25', 'JP', 'AS', 35.68, 139.69);
put('2001:db8:1::/48', 'DE', 'EU', 50.11, 8.68);
put('127.0.2.0/24', 'FR', 'EU', 48.86, 2.35);
put('127.0.1.8/29', 'US', 'NA', 40.71, -74.0);
put('10.0.0.0/8', 'XX', 'EU');
open my $fh, '>:raw', $ARGV[0] or die; $tree->write_tree($fh); close $fh;
